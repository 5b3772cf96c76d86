package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Client sends chat completions to one Endpoint, retrying what is worth
// retrying. Its fields may be set before the first request; the API key is
// held unexported and never printed (a Client formats as its endpoint).
type Client struct {
	// HTTP is the client to use; nil means one without a timeout of its
	// own (Timeout and IdleTimeout bound each attempt).
	HTTP *http.Client
	// Retries is how many times a failed attempt is retried: rate limits
	// (429, waiting as Retry-After says), 5xx, broken connections, cut or
	// stalled streams, timeouts. 0 means DefaultRetries; negative none.
	Retries int
	// Backoff is the wait before the first retry when the server names
	// none; it doubles with each retry up to MaxBackoff, and each wait is
	// drawn between half and all of it (jitter), so that many clients do
	// not retry in step. 0 means 1s; MaxBackoff 0 means one minute.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt, from sending to the last byte; 0 means
	// 10 minutes (reasoning answers are long).
	Timeout time.Duration
	// IdleTimeout aborts (and retries) a stream that sends nothing for
	// this long; 0 means 2 minutes.
	IdleTimeout time.Duration
	// OnRetry, when not nil, is told of each failed attempt before the
	// wait that precedes the next.
	OnRetry func(Retry)

	ep     Endpoint
	key    string
	keyEnv string
}

// DefaultRetries is the number of retries of a Client whose Retries is 0.
const DefaultRetries = 8

// maxBody bounds the bytes of a response that is not a stream.
const maxBody = 64 << 20

// Retry describes a failed attempt that will be retried.
type Retry struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // why
	Wait    time.Duration // the wait before the next attempt
}

// NewClient returns a client for e that sends key as a bearer token (none
// when key is empty).
func NewClient(e Endpoint, key string) *Client {
	return &Client{ep: e, key: key, keyEnv: e.KeyEnv}
}

// FromEnv returns a client for e with the API key from the environment
// variable keyEnv, or e.KeyEnv when keyEnv is empty. A preset endpoint
// needs its key; a URL endpoint without a variable sends none.
func FromEnv(e Endpoint, keyEnv string) (*Client, error) {
	if keyEnv == "" {
		keyEnv = e.KeyEnv
	}
	if err := checkOffline(e); err != nil {
		return nil, err
	}
	key := ""
	if keyEnv != "" {
		key = os.Getenv(keyEnv)
		if key == "" {
			return nil, fmt.Errorf("remote: %s: no API key: the environment variable %s is empty", e.Title, keyEnv)
		}
	}
	c := NewClient(e, key)
	c.keyEnv = keyEnv
	return c, nil
}

// checkOffline refuses endpoints beyond this machine when QILIN_OFFLINE=1.
func checkOffline(e Endpoint) error {
	if os.Getenv("QILIN_OFFLINE") != "1" {
		return nil
	}
	u, err := url.Parse(e.BaseURL)
	if err == nil {
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
	}
	return fmt.Errorf("remote: %s: QILIN_OFFLINE=1 allows only endpoints on this machine", e.Title)
}

// Endpoint returns the endpoint c talks to.
func (c *Client) Endpoint() Endpoint { return c.ep }

// String names the endpoint, never the key.
func (c *Client) String() string { return "remote.Client(" + c.ep.String() + ")" }

// GoString is String, so that %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// Chat sends req and returns the whole answer, streaming it when
// req.Stream is set. It retries as the Client's fields say; the error of
// the last attempt is returned (an *Error for an HTTP failure).
func (c *Client) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	body, err := requestBody(c.ep, &req)
	if err != nil {
		return nil, fmt.Errorf("remote: %s: %w", c.ep.Title, err)
	}
	retries := c.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	for attempt := 1; ; attempt++ {
		resp, streamed, err := c.attempt(ctx, body, &req)
		if err == nil {
			resp.Attempts = attempt
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("remote: %s: %w", c.ep.Title, ctx.Err())
		}
		if !retryable(err) || attempt > retries {
			if attempt > 1 && retryable(err) {
				return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		wait := c.wait(attempt, err)
		for _, f := range []func(Retry){c.OnRetry, req.OnRetry} {
			if f != nil {
				f(Retry{Attempt: attempt, Err: err, Wait: wait})
			}
		}
		if streamed && req.OnDelta != nil {
			req.OnDelta(Delta{Restart: true})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("remote: %s: %w", c.ep.Title, ctx.Err())
		case <-t.C:
		}
	}
}

// wait is the pause after failed attempt n: what the server asked for
// (plus up to 10% so that clients told the same do not return together),
// else exponential backoff with jitter.
func (c *Client) wait(n int, err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter + rand.N(e.RetryAfter/10+1)
	}
	base, ceil := c.Backoff, c.MaxBackoff
	if base <= 0 {
		base = time.Second
	}
	if ceil <= 0 {
		ceil = time.Minute
	}
	d := base
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	return d/2 + rand.N(d/2+1)
}

// attempt sends the request once. streamed reports that deltas reached
// req.OnDelta.
func (c *Client) attempt(ctx context.Context, body []byte, req *ChatRequest) (resp *ChatResponse, streamed bool, err error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	tctx, cancelTimeout := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: no complete answer within %v", context.DeadlineExceeded, timeout))
	defer cancelTimeout()
	actx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.ep.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("remote: %s: %w", c.ep.Title, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("User-Agent", "qilin")
	if req.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	if c.key != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	hresp, err := hc.Do(hreq)
	if err != nil {
		return nil, false, c.transportError(actx, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(hresp.Body, 64<<10))
		return nil, false, c.statusError(hresp, b)
	}
	if req.Stream {
		idle := c.IdleTimeout
		if idle <= 0 {
			idle = 2 * time.Minute
		}
		resp, streamed, err = c.readStream(hresp.Body, req.OnDelta, idle, cancel)
		if err != nil {
			return nil, streamed, c.transportError(actx, err)
		}
	} else {
		b, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody+1))
		if err != nil {
			return nil, false, c.transportError(actx, err)
		}
		if len(b) > maxBody {
			return nil, false, fmt.Errorf("remote: %s: response larger than %d bytes", c.ep.Title, maxBody)
		}
		if resp, err = c.decodeResponse(b); err != nil {
			return nil, false, err
		}
	}
	finishReasoning(resp)
	return resp, streamed, nil
}

// transportError wraps an error of the connection or the body, naming the
// timeout or the stall when the attempt's context ended for one.
func (c *Client) transportError(actx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) || errors.Is(err, ErrStreamCut) {
		return err
	}
	if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("remote: %s: %w", c.ep.Title, cause)
	}
	return fmt.Errorf("remote: %s: %w", c.ep.Title, err)
}

func (c *Client) decodeResponse(b []byte) (*ChatResponse, error) {
	var w wireResponse
	if err := jsonUnmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("remote: %s: malformed response: %v", c.ep.Title, err)
	}
	if w.Error != nil {
		return nil, &Error{Endpoint: c.ep.Title, Message: c.clean(w.Error.Message), Code: codeString(w.Error), keyEnv: c.keyEnv}
	}
	if len(w.Choices) == 0 {
		return nil, fmt.Errorf("remote: %s: response without choices", c.ep.Title)
	}
	ch := w.Choices[0]
	resp := &ChatResponse{ID: w.ID, Model: w.Model, Content: ch.Message.content(), Reasoning: ch.Message.reasoning()}
	if ch.FinishReason != nil {
		resp.FinishReason = *ch.FinishReason
	}
	if ch.Logprobs != nil {
		resp.Logprobs = tokenLogprobs(ch.Logprobs.Content)
	}
	if w.Usage != nil {
		resp.Usage = w.Usage.usage()
	}
	return resp, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
