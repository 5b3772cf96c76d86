package hub_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/quant"
)

// fakeFile is a file of the emulated Hub.
type fakeFile struct {
	data      []byte
	published string // the sha256 the tree and X-Linked-Etag announce; "" = not LFS
	served    []byte // bytes the CDN sends, when they differ from data
}

// fakeHub emulates the parts of the Hugging Face Hub that hub uses: the
// tree API (paginated), resolve URLs that redirect LFS files to a CDN path
// with X-Linked-Etag/X-Linked-Size, Range requests, gated repositories and
// the Hub's error headers. Knobs make it misbehave.
type fakeHub struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	repos map[string]map[string]*fakeFile // repo -> path -> file
	gated map[string]string               // repo -> the token it accepts

	pageSize   int           // tree entries per page; 0 = all
	dropAfter  int64         // CDN drops the connection after this many bytes...
	drops      int           // ...this many times
	stallAfter int64         // CDN stops sending after this many bytes...
	stalls     int           // ...this many times
	fail5xx    int           // tree and resolve answer 503 this many times
	noRange    bool          // CDN ignores Range
	chunkDelay time.Duration // pause between 4 KiB chunks

	conns    atomic.Int32 // connections accepted
	served   atomic.Int64 // CDN body bytes written
	ranges   []string     // Range header of each CDN request ("" when none)
	authSeen []string     // Authorization header of each request
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, repos: map[string]map[string]*fakeFile{}, gated: map[string]string{}}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.route))
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h.conns.Add(1)
		}
	}
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	return h
}

// client returns a Client for the fake Hub with fast retries.
func (h *fakeHub) client() *hub.Client {
	return &hub.Client{Endpoint: h.srv.URL, Retries: 3, Backoff: time.Millisecond, StallTimeout: 5 * time.Second}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// add puts an LFS file into repo.
func (h *fakeHub) add(repo, path string, data []byte) *fakeFile {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repos[repo] == nil {
		h.repos[repo] = map[string]*fakeFile{}
	}
	f := &fakeFile{data: data, published: sha(data)}
	h.repos[repo][path] = f
	return f
}

func (h *fakeHub) file(repo, path string) *fakeFile {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.repos[repo][path]
}

// admit applies gating and injected 503s; it reports whether to go on.
func (h *fakeHub) admit(w http.ResponseWriter, r *http.Request, repo string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.authSeen = append(h.authSeen, r.Header.Get("Authorization"))
	if h.fail5xx > 0 {
		h.fail5xx--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return false
	}
	if _, ok := h.repos[repo]; !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return false
	}
	if tok, ok := h.gated[repo]; ok {
		switch r.Header.Get("Authorization") {
		case "Bearer " + tok:
		case "":
			w.Header().Set("X-Error-Code", "GatedRepo")
			http.Error(w, "gated", http.StatusUnauthorized)
			return false
		default:
			w.Header().Set("X-Error-Code", "GatedRepo")
			http.Error(w, "not on the access list", http.StatusForbidden)
			return false
		}
	}
	return true
}

// route dispatches GET /api/models/{org}/{repo}/tree/{rev},
// /{org}/{repo}/resolve/{rev}/{path...} and /cdn/{sha} (ServeMux patterns
// cannot hold the first two side by side).
func (h *fakeHub) route(w http.ResponseWriter, r *http.Request) {
	seg := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 6)
	set := func(names ...string) {
		for i, n := range names {
			if n != "" {
				r.SetPathValue(n, seg[i])
			}
		}
	}
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	case len(seg) == 6 && seg[0] == "api" && seg[1] == "models" && seg[4] == "tree":
		r.SetPathValue("org", seg[2])
		r.SetPathValue("repo", seg[3])
		h.tree(w, r)
	case len(seg) == 2 && seg[0] == "cdn":
		set("", "sha")
		h.cdn(w, r)
	case len(seg) >= 5 && seg[2] == "resolve":
		set("org", "repo", "", "rev")
		r.SetPathValue("path", strings.Join(seg[4:], "/"))
		h.resolve(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *fakeHub) tree(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("org") + "/" + r.PathValue("repo")
	if !h.admit(w, r, repo) {
		return
	}
	if r.URL.Query().Get("recursive") != "true" {
		h.t.Errorf("tree request without recursive=true: %s", r.URL)
	}
	type lfs struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	type entry struct {
		Type string `json:"type"`
		OID  string `json:"oid"`
		Size int64  `json:"size"`
		Path string `json:"path"`
		LFS  *lfs   `json:"lfs,omitempty"`
	}
	h.mu.Lock()
	var entries []entry
	dirs := map[string]bool{}
	for p, f := range h.repos[repo] {
		if i := strings.LastIndex(p, "/"); i > 0 && !dirs[p[:i]] {
			dirs[p[:i]] = true
			entries = append(entries, entry{Type: "directory", OID: "0", Path: p[:i]})
		}
		e := entry{Type: "file", OID: sha(f.data)[:40], Size: int64(len(f.data)), Path: p}
		if f.published != "" {
			e.LFS = &lfs{OID: f.published, Size: int64(len(f.data))}
		}
		entries = append(entries, e)
	}
	pageSize := h.pageSize
	h.mu.Unlock()
	if pageSize > 0 {
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
		cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		end := min(cursor+pageSize, len(entries))
		if end < len(entries) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?recursive=true&cursor=%d>; rel="next"`, h.srv.URL, r.URL.Path, end))
		}
		entries = entries[cursor:end]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries)
}

func (h *fakeHub) resolve(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("org") + "/" + r.PathValue("repo")
	if !h.admit(w, r, repo) {
		return
	}
	f := h.file(repo, r.PathValue("path"))
	if f == nil {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", strings.Repeat("c", 40))
	if f.published == "" { // plain git file: served directly
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
		return
	}
	w.Header().Set("X-Linked-Etag", `"`+f.published+`"`)
	w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.data)))
	w.Header().Set("Location", "/cdn/"+f.published+"?repo="+repo+"&path="+r.PathValue("path"))
	w.WriteHeader(http.StatusFound)
}

func (h *fakeHub) cdn(w http.ResponseWriter, r *http.Request) {
	f := h.file(r.URL.Query().Get("repo"), r.URL.Query().Get("path"))
	if f == nil || f.published != r.PathValue("sha") {
		http.NotFound(w, r)
		return
	}
	body := f.data
	if f.served != nil {
		body = f.served
	}
	h.mu.Lock()
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	drop, stall := int64(-1), int64(-1)
	if h.drops > 0 {
		h.drops--
		drop = h.dropAfter
	} else if h.stalls > 0 {
		h.stalls--
		stall = h.stallAfter
	}
	noRange, delay := h.noRange, h.chunkDelay
	h.mu.Unlock()

	start := int64(0)
	if rg := r.Header.Get("Range"); rg != "" && !noRange {
		v, ok := strings.CutPrefix(rg, "bytes=")
		v, ok2 := strings.CutSuffix(v, "-")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || !ok2 || err != nil || n < 0 {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if n >= int64(len(body)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(body)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(body)-1, len(body)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)-int(start)))
	if start > 0 {
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	sent := int64(0)
	for pos := start; pos < int64(len(body)); {
		end := min(pos+4096, int64(len(body)))
		if drop >= 0 && sent+end-pos > drop {
			end = pos + drop - sent
		}
		if stall >= 0 && sent+end-pos > stall {
			end = pos + stall - sent
		}
		n, err := w.Write(body[pos:end])
		sent += int64(n)
		h.served.Add(int64(n))
		pos += int64(n)
		if err != nil {
			return
		}
		w.(http.Flusher).Flush()
		if drop >= 0 && sent == drop {
			panic(http.ErrAbortHandler) // the server closes the connection mid-body
		}
		if stall >= 0 && sent == stall {
			<-r.Context().Done() // sends nothing more until the client gives up
			return
		}
		if delay > 0 {
			time.Sleep(delay)
		}
	}
}

// ggufBytes writes a small valid GGUF of architecture arch (none if ""), padded with a
// random F32 tensor of n elements so downloads span many chunks.
func ggufBytes(t *testing.T, arch string, n int, seed uint64) []byte {
	t.Helper()
	w := gguf.NewWriter()
	if arch != "" {
		w.SetKV("general.architecture", arch)
	}
	r := rand.New(rand.NewPCG(seed, 0))
	data := make([]byte, 4*n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := w.AddTensor("token_embd.weight", quant.F32, []uint64{uint64(n)}, data); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
