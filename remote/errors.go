package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a request the endpoint refused or failed: an HTTP status other
// than 200, or an error object in a stream.
type Error struct {
	Endpoint string // the endpoint's title: "DeepSeek", "127.0.0.1:8000"
	Status   int    // HTTP status; 0 for an error sent inside a stream
	Code     string // the error object's code or type, if any
	Message  string // the server's message, with the API key removed
	// RetryAfter is the wait the server asked for (Retry-After or
	// retry-after-ms), 0 when it named none.
	RetryAfter time.Duration
	keyEnv     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Endpoint + ": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString("error in the stream")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		if e.keyEnv != "" {
			fmt.Fprintf(&b, " (check the API key in %s)", e.keyEnv)
		} else {
			b.WriteString(" (this endpoint wants an API key: name the variable that holds it with --api-key-env)")
		}
	case http.StatusForbidden:
		b.WriteString(" (the API key is valid but may not use this model or endpoint)")
	case http.StatusNotFound:
		b.WriteString(" (no such model or API path: check the model name and that the URL is the API root, e.g. .../v1)")
	}
	return b.String()
}

// Temporary reports whether sending the request again may succeed: rate
// limits, server errors and timeouts.
func (e *Error) Temporary() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout ||
		e.Status == http.StatusConflict || e.Status >= 500
}

// ErrStreamCut is returned (wrapped) when a stream ended before the
// server said it was complete.
var ErrStreamCut = errors.New("stream ended before the answer was complete")

// ErrStalled is returned (wrapped) when a stream sent nothing for the idle
// timeout.
var ErrStalled = errors.New("stream stalled")

// Error kinds, as ErrorKind names them.
const (
	KindRateLimited = "rate_limited" // 429
	KindServer      = "server_error" // 5xx, or an error inside a stream
	KindStreamCut   = "stream_cut"   // the stream broke off
	KindConnection  = "connection"   // refused, reset, DNS
	KindTimeout     = "timeout"      // the attempt's timeout or a stall
	KindAuth        = "auth"         // 401, 403
	KindNotFound    = "not_found"    // 404
	KindBadRequest  = "bad_request"  // other 4xx
	KindCancelled   = "cancelled"    // the caller's context ended
	KindOther       = "other"
)

// ErrorKind classifies err for counting ("errors by kind").
func ErrorKind(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return KindCancelled
	case errors.As(err, &e):
		switch {
		case e.Status == http.StatusTooManyRequests:
			return KindRateLimited
		case e.Status == 0 || e.Status >= 500:
			return KindServer
		case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
			return KindAuth
		case e.Status == http.StatusNotFound:
			return KindNotFound
		case e.Status == http.StatusRequestTimeout:
			return KindTimeout
		}
		return KindBadRequest
	case errors.Is(err, ErrStreamCut):
		return KindStreamCut
	case errors.Is(err, ErrStalled), errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return KindConnection
	}
	return KindOther
}

// retryable reports whether err is worth another attempt.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	switch ErrorKind(err) {
	case KindStreamCut, KindConnection, KindTimeout:
		return true
	}
	return false
}

// retryAfter reads the wait a response asks for: retry-after-ms (OpenAI),
// else Retry-After in seconds or as an HTTP date. 0 when absent or
// unreadable; at most an hour.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return min(time.Duration(ms*float64(time.Millisecond)), time.Hour)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(s*float64(time.Second)), time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// statusError builds the Error of a failed response from its body.
func (c *Client) statusError(resp *http.Response, body []byte) *Error {
	e := &Error{Endpoint: c.ep.Title, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header, time.Now()), keyEnv: c.keyEnv}
	var w struct {
		Error  *wireError `json:"error"`
		Detail string     `json:"detail"` // FastAPI style
	}
	if jsonUnmarshal(body, &w) == nil && w.Error != nil {
		e.Message = w.Error.Message
		e.Code = codeString(w.Error)
	} else if w.Detail != "" {
		e.Message = w.Detail
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	e.Message = c.clean(e.Message)
	return e
}

func codeString(w *wireError) string {
	switch c := w.Code.(type) {
	case string:
		return c
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64)
	}
	return w.Type
}

// clean removes the API key from a server's text and shortens it, so that
// an error can be printed and logged.
func (c *Client) clean(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[key]")
	}
	s = strings.Join(strings.Fields(s), " ")
	const max = 300
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
