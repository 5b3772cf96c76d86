package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// DefaultEndpoint is the Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// apiTimeout bounds one page of a file listing (downloads have their own
// stall watchdog instead, since they may take hours).
const apiTimeout = time.Minute

// Errors that callers may test for with errors.Is. The errors returned
// wrap them with the repository, file and advice.
var (
	ErrOffline  = errors.New("offline mode (QILIN_OFFLINE=1) forbids network access")
	ErrNotFound = errors.New("not found")
	ErrAccess   = errors.New("access denied")
	ErrChecksum = errors.New("checksum mismatch")
	ErrUnsafe   = errors.New("unsafe name")
)

// Client talks to a Hugging Face Hub. The zero value is usable: it talks to
// DefaultEndpoint without a token, with no retries.
type Client struct {
	// Endpoint is the Hub's base URL; empty means DefaultEndpoint.
	Endpoint string
	// Token, if set, is sent as "Authorization: Bearer" (Go's client drops
	// it when a redirect leaves the endpoint's domain).
	Token string
	// Offline makes every request fail with ErrOffline without dialing.
	Offline bool
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Retries is how many times a transient failure is retried.
	Retries int
	// Backoff is the delay before the first retry; it doubles after each
	// (up to a minute), with up to 25% random jitter. Zero means 500ms.
	Backoff time.Duration
	// StallTimeout aborts (and then retries) a download that receives no
	// bytes for this long. Zero means one minute.
	StallTimeout time.Duration
	// OnRetry, if set, is called before each retry with its number (from
	// 1), Retries, the wait before it and the failure it retries.
	OnRetry func(try, retries int, wait time.Duration, err error)
}

// NewFromEnv returns a Client configured from HF_ENDPOINT, HF_TOKEN and
// QILIN_OFFLINE, retrying transient failures five times.
func NewFromEnv() *Client {
	return &Client{
		Endpoint: os.Getenv("HF_ENDPOINT"),
		Token:    os.Getenv("HF_TOKEN"),
		Offline:  os.Getenv("QILIN_OFFLINE") == "1",
		Retries:  5,
	}
}

// File is a file in a Hub repository.
type File struct {
	// Path is the file's path inside the repository ("a/b.gguf").
	Path string
	// Size is its size in bytes.
	Size int64
	// SHA256 is the LFS object id, lowercase hex; empty for files that are
	// not stored in LFS.
	SHA256 string
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// treeEntry is one element of the tree API's answer.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	} `json:"lfs"`
}

// ListFiles returns every file of repo ("ORG/NAME", or
// "datasets/ORG/NAME" for a dataset) at revision (empty means "main"), following the API's pagination. It refuses a listing that
// holds an unsafe path or a malformed SHA-256.
func (c *Client) ListFiles(ctx context.Context, repo, revision string) ([]File, error) {
	kind, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	revision, err = checkRevision(revision)
	if err != nil {
		return nil, err
	}
	next := c.endpoint() + "/api/" + kind + "/" + name + "/tree/" + url.PathEscape(revision) + "?recursive=true"
	var files []File
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			return nil, fmt.Errorf("hub: hf.co/%s: listing has more than 1000 pages", repo)
		}
		var entries []treeEntry
		var link string
		err := c.retry(ctx, func() (bool, error) {
			reqCtx, cancel := context.WithTimeout(ctx, apiTimeout)
			defer cancel()
			resp, err := c.get(reqCtx, next, 0)
			if err != nil {
				return true, err
			}
			defer resp.Body.Close()
			if err := statusError(resp, repo, "", c.Token != ""); err != nil {
				return transientStatus(resp.StatusCode), err
			}
			link = resp.Header.Get("Link")
			body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if err != nil {
				return true, err
			}
			entries = nil
			if err := json.Unmarshal(body, &entries); err != nil {
				return false, fmt.Errorf("hub: hf.co/%s: reading file list: %w", repo, err)
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			if err := checkRepoPath(e.Path); err != nil {
				return nil, fmt.Errorf("hub: hf.co/%s: the file list holds %w: refusing it", repo, err)
			}
			f := File{Path: e.Path, Size: e.Size}
			if e.LFS != nil {
				if !isSHA256(e.LFS.OID) {
					return nil, fmt.Errorf("hub: hf.co/%s: file %q has a malformed LFS oid %q", repo, e.Path, e.LFS.OID)
				}
				f.SHA256, f.Size = strings.ToLower(e.LFS.OID), e.LFS.Size
			}
			files = append(files, f)
		}
		if next, err = c.nextPage(link); err != nil {
			return nil, fmt.Errorf("hub: hf.co/%s: %w", repo, err)
		}
	}
	return files, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextPage returns the rel="next" URL of a Link header, which must stay on
// the endpoint's host, or "" when there is none.
func (c *Client) nextPage(link string) (string, error) {
	m := linkNext.FindStringSubmatch(link)
	if m == nil {
		return "", nil
	}
	base, _ := url.Parse(c.endpoint())
	u, err := base.Parse(m[1])
	if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
		return "", fmt.Errorf("pagination link %q leaves %s", m[1], c.endpoint())
	}
	return u.String(), nil
}

// fileURL is the resolve URL of a file.
func (c *Client) fileURL(repo, revision, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.endpoint() + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(segs, "/")
}

// get sends a GET, with "Range: bytes=from-" when from > 0.
func (c *Client) get(ctx context.Context, u string, from int64) (*http.Response, error) {
	if c.Offline {
		return nil, fmt.Errorf("hub: GET %s: %w", u, ErrOffline)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	req.Header.Set("User-Agent", "qilin")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	return c.httpClient().Do(req)
}

// retry runs attempt until it succeeds, fails permanently (transient
// false, or an endpoint that cannot be reached at all), ctx ends, or the
// retries are spent, sleeping with backoff between attempts.
func (c *Client) retry(ctx context.Context, attempt func() (transient bool, err error)) error {
	delay := c.Backoff
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	for try := 0; ; try++ {
		transient, err := attempt()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrOffline) {
			return err
		}
		if unreachable(err) && ctx.Err() == nil {
			return c.unreachableError(err)
		}
		if !transient || try >= c.Retries || ctx.Err() != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("hub: %w", ctx.Err())
			}
			return err
		}
		sleep := delay + time.Duration(rand.Int64N(int64(delay)/4+1))
		if c.OnRetry != nil {
			c.OnRetry(try+1, c.Retries, sleep, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub: %w", ctx.Err())
		case <-time.After(sleep):
		}
		delay = min(2*delay, time.Minute)
	}
}

// transientStatus reports whether an HTTP status is worth retrying.
func transientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// statusError turns a failed response into an error with advice; nil for
// 2xx. file is "" for repository-level requests.
func statusError(resp *http.Response, repo, file string, haveToken bool) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	what := "hf.co/" + repo
	detail := resp.Header.Get("X-Error-Message")
	if detail != "" {
		detail = " (" + detail + ")"
	}
	errCode := resp.Header.Get("X-Error-Code")
	switch {
	case code == http.StatusNotFound && file != "" && errCode != "RepoNotFound" && errCode != "RevisionNotFound":
		return fmt.Errorf("hub: %s: file %q %w%s", what, file, ErrNotFound, detail)
	case code == http.StatusNotFound || errCode == "RepoNotFound":
		hint := "check the name"
		if !haveToken {
			hint += "; a private repository needs HF_TOKEN"
		}
		return fmt.Errorf("hub: %s: repository or revision %w%s (%s)", what, ErrNotFound, detail, hint)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		advice := "the repository is gated or private: accept its terms at https://huggingface.co/" + repo + " and set HF_TOKEN to an access token"
		if haveToken {
			advice = "the HF_TOKEN given has no access: accept the repository's terms at https://huggingface.co/" + repo + " with that account, or use another token"
		}
		return fmt.Errorf("hub: %s: %w (HTTP %d)%s: %s", what, ErrAccess, code, detail, advice)
	}
	if file != "" {
		what += "/" + file
	}
	return fmt.Errorf("hub: %s: HTTP %s%s", what, resp.Status, detail)
}

// DatasetPrefix marks a dataset repository, "datasets/ORG/NAME", as the
// Hub's own URLs write it; a repository without it holds a model.
const DatasetPrefix = "datasets/"

// splitRepo returns the API collection of repo ("models" or "datasets")
// and its ORG/NAME, validated.
func splitRepo(repo string) (kind, name string, err error) {
	kind, name = "models", repo
	if r, ok := strings.CutPrefix(repo, DatasetPrefix); ok {
		kind, name = "datasets", r
	}
	return kind, name, checkRepo(name)
}

var repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkRepo validates "ORG/NAME".
func checkRepo(repo string) error {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(org) || !repoPart.MatchString(name) || strings.Contains(repo, "..") {
		return fmt.Errorf("hub: repository %q: %w (want ORG/NAME of letters, digits, '.', '_', '-')", repo, ErrUnsafe)
	}
	return nil
}

// checkRevision validates a branch, tag or commit name, "" meaning main.
func checkRevision(rev string) (string, error) {
	if rev == "" {
		return "main", nil
	}
	for _, seg := range strings.Split(rev, "/") {
		if !repoPart.MatchString(seg) || strings.Contains(seg, "..") {
			return "", fmt.Errorf("hub: revision %q: %w", rev, ErrUnsafe)
		}
	}
	return rev, nil
}

// checkRepoPath validates a file path from a repository: relative, made of
// plain elements, no "..", no backslashes or drive letters, no control
// characters.
func checkRepoPath(p string) error {
	if p == "" || len(p) > 1024 || strings.ContainsAny(p, "\\:\x00") || strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w %q", ErrUnsafe, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w %q", ErrUnsafe, p)
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q", ErrUnsafe, p)
		}
	}
	return nil
}

func isSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}
