package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Download fetches f from repo at revision (empty means "main") into the
// file at path, resuming after the bytes already there, and returns the
// content's SHA-256 in hex. When f.SHA256 is set (an LFS file) the content
// must match it: on a mismatch the file is deleted and the error wraps
// ErrChecksum. A transient failure leaves the bytes received so far for
// the next attempt, whether a retry inside this call or a later call.
// progress, if not nil, gets the byte count on disk as it grows.
func (c *Client) Download(ctx context.Context, repo, revision string, f File, path string, progress func(done int64)) (string, error) {
	if _, _, err := splitRepo(repo); err != nil {
		return "", err
	}
	if err := checkRepoPath(f.Path); err != nil {
		return "", fmt.Errorf("hub: hf.co/%s: %w", repo, err)
	}
	revision, err := checkRevision(revision)
	if err != nil {
		return "", err
	}
	if f.SHA256 != "" && !isSHA256(f.SHA256) {
		return "", fmt.Errorf("hub: hf.co/%s: file %q: malformed SHA-256 %q", repo, f.Path, f.SHA256)
	}
	if c.Offline {
		return "", fmt.Errorf("hub: cannot download hf.co/%s/%s: %w", repo, f.Path, ErrOffline)
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	d := &download{c: c, repo: repo, file: f, out: out, h: sha256.New(), progress: progress,
		url: c.fileURL(repo, revision, f.Path)}
	sum, err := d.run(ctx)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("hub: %w", cerr)
	}
	if errors.Is(err, ErrChecksum) {
		os.Remove(path)
	}
	return sum, err
}

// download is the state of one Download: the output file, positioned at
// its end, and the hash of everything in it.
type download struct {
	c        *Client
	repo     string
	file     File
	url      string
	out      *os.File
	h        hash.Hash
	n        int64 // bytes in out, all hashed
	progress func(int64)
}

func (d *download) run(ctx context.Context) (string, error) {
	// Hash what an earlier attempt left, so only the rest is fetched.
	n, err := io.Copy(d.h, d.out)
	if err != nil {
		return "", fmt.Errorf("hub: reading partial download: %w", err)
	}
	d.n = n
	if d.file.Size > 0 && d.n > d.file.Size {
		if err := d.restart(); err != nil {
			return "", err
		}
	}
	d.report()
	if d.file.Size <= 0 || d.n < d.file.Size {
		if err := d.c.retry(ctx, func() (bool, error) { return d.attempt(ctx) }); err != nil {
			return "", err
		}
	}
	if err := d.out.Sync(); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	sum := hex.EncodeToString(d.h.Sum(nil))
	if d.file.SHA256 != "" && sum != d.file.SHA256 {
		return "", fmt.Errorf("hub: hf.co/%s/%s: %w: got sha256 %s, the Hub publishes %s; the download was deleted",
			d.repo, d.file.Path, ErrChecksum, sum, d.file.SHA256)
	}
	return sum, nil
}

func (d *download) report() {
	if d.progress != nil {
		d.progress(d.n)
	}
}

// restart empties the output for a download from byte 0.
func (d *download) restart() error {
	if err := d.out.Truncate(0); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := d.out.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	d.h.Reset()
	d.n = 0
	return nil
}

// attempt makes one request for the missing bytes and appends them.
func (d *download) attempt(ctx context.Context) (transient bool, err error) {
	// A watchdog cancels the request when no byte arrives for a while.
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := d.c.StallTimeout
	if stall <= 0 {
		stall = time.Minute
	}
	var stalled atomic.Bool
	watchdog := time.AfterFunc(stall, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()

	resp, err := d.c.get(reqCtx, d.url, d.n)
	if err != nil {
		if stalled.Load() {
			return true, fmt.Errorf("hub: hf.co/%s/%s: no answer for %v", d.repo, d.file.Path, stall)
		}
		return true, fmt.Errorf("hub: hf.co/%s/%s: %w", d.repo, d.file.Path, err)
	}
	defer resp.Body.Close()
	if err := d.checkLinked(resp); err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if d.n > 0 { // the server ignored Range: start over
			if err := d.restart(); err != nil {
				return false, err
			}
		}
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != d.n {
			// Not the bytes asked for: discard them and fetch everything.
			err := d.restart()
			return err == nil, fmt.Errorf("hub: hf.co/%s/%s: server sent range %q for bytes=%d-",
				d.repo, d.file.Path, resp.Header.Get("Content-Range"), d.n)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// What is on disk is not a prefix of the file: start over.
		err := d.restart()
		return err == nil, fmt.Errorf("hub: hf.co/%s/%s: partial download of %d bytes does not fit the file", d.repo, d.file.Path, d.n)
	default:
		err := statusError(resp, d.repo, d.file.Path, d.c.Token != "")
		if err == nil {
			err = fmt.Errorf("hub: hf.co/%s/%s: unexpected HTTP %s", d.repo, d.file.Path, resp.Status)
		}
		return transientStatus(resp.StatusCode), err
	}
	buf := make([]byte, 256<<10)
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			watchdog.Reset(stall)
			if d.file.Size > 0 && d.n+int64(k) > d.file.Size {
				d.restart()
				return false, fmt.Errorf("hub: hf.co/%s/%s: server sent more than the listed %d bytes", d.repo, d.file.Path, d.file.Size)
			}
			if _, err := d.out.Write(buf[:k]); err != nil {
				return false, fmt.Errorf("hub: writing download: %w", err)
			}
			d.h.Write(buf[:k])
			d.n += int64(k)
			d.report()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if stalled.Load() {
				return true, fmt.Errorf("hub: hf.co/%s/%s: download stalled for %v at byte %d", d.repo, d.file.Path, stall, d.n)
			}
			return true, fmt.Errorf("hub: hf.co/%s/%s: connection lost at byte %d: %w", d.repo, d.file.Path, d.n, rerr)
		}
	}
	if d.file.Size > 0 && d.n < d.file.Size {
		return true, fmt.Errorf("hub: hf.co/%s/%s: connection closed at byte %d of %d", d.repo, d.file.Path, d.n, d.file.Size)
	}
	return false, nil
}

// checkLinked compares the LFS headers of the resolve response (or of the
// redirect that led to the CDN) with the listing: a different hash or size
// means the file changed on the Hub since it was listed.
func (d *download) checkLinked(resp *http.Response) error {
	for r := resp; r != nil; r = prevResponse(r) {
		if etag := strings.Trim(r.Header.Get("X-Linked-Etag"), `"`); d.file.SHA256 != "" && isSHA256(etag) && !strings.EqualFold(etag, d.file.SHA256) {
			return fmt.Errorf("hub: hf.co/%s/%s: the file changed on the Hub while pulling (sha256 %s, listed %s): pull again",
				d.repo, d.file.Path, etag, d.file.SHA256)
		}
		if size, err := strconv.ParseInt(r.Header.Get("X-Linked-Size"), 10, 64); err == nil && d.file.Size > 0 && size != d.file.Size {
			return fmt.Errorf("hub: hf.co/%s/%s: the file changed on the Hub while pulling (%d bytes, listed %d): pull again",
				d.repo, d.file.Path, size, d.file.Size)
		}
	}
	return nil
}

// prevResponse returns the redirect response that led to r, if any.
func prevResponse(r *http.Response) *http.Response {
	if r.Request == nil {
		return nil
	}
	return r.Request.Response
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}
