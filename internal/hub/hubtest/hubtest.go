// Package hubtest emulates the Hugging Face Hub for tests: an httptest
// server with the tree API (paginated), resolve URLs that redirect LFS files
// to a CDN path with X-Linked-Etag/X-Linked-Size, Range requests, gated
// repositories and the Hub's error headers, with knobs that make it
// misbehave (dropped connections, stalls, 503s, ignored Range, corrupted
// bytes) and counters of what it served.
package hubtest

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
	"github.com/qilin-ai/qilin/quant"
)

// File is a file of the emulated Hub.
type File struct {
	Data []byte
	// Published is the SHA-256 the tree API and X-Linked-Etag announce;
	// empty for a file kept in git rather than LFS, which is served
	// directly without a redirect.
	Published string
	// Served, when set, is what the CDN sends instead of Data.
	Served []byte
}

// Knobs make the server misbehave. Change them with Server.Configure.
type Knobs struct {
	PageSize   int           // tree entries per page; 0 means all in one
	DropAfter  int64         // the CDN drops the connection after this many body bytes...
	Drops      int           // ...in this many responses
	StallAfter int64         // the CDN stops sending after this many bytes...
	Stalls     int           // ...in this many responses
	Fail5xx    int           // tree and resolve answer 503 this many times
	NoRange    bool          // the CDN ignores Range
	ChunkDelay time.Duration // pause after each 4 KiB the CDN sends
}

// Server is an emulated Hub.
type Server struct {
	// URL is the endpoint to give hub.Client (or HF_ENDPOINT).
	URL string
	// Conns counts accepted connections; Served counts CDN body bytes.
	Conns, Served atomic.Int64

	t     testing.TB
	mu    sync.Mutex
	knobs Knobs
	repos map[string]map[string]*File // repo -> path -> file
	gated map[string]string           // repo -> the token it accepts
	// ranges holds the Range header of each CDN request, auth the
	// Authorization header of each tree or resolve request.
	ranges, auth []string
}

// New starts a Server, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{t: t, repos: map[string]map[string]*File{}, gated: map[string]string{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.route))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.Conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SHA256 returns the hex SHA-256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Add puts data at path in repo ("ORG/NAME", or "datasets/ORG/NAME" for a
// dataset) as an LFS file and returns it
// for adjustments, made before any request for it.
func (s *Server) Add(repo, path string, data []byte) *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo] == nil {
		s.repos[repo] = map[string]*File{}
	}
	f := &File{Data: data, Published: SHA256(data)}
	s.repos[repo][path] = f
	return f
}

// Gate makes repo answer 401 without a token and 403 with another one.
func (s *Server) Gate(repo, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gated[repo] = token
}

// Configure changes the knobs.
func (s *Server) Configure(f func(*Knobs)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.knobs)
}

// Ranges returns the Range header of every CDN request so far, "" for none.
func (s *Server) Ranges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ranges)
}

// Auth returns the Authorization header of every API and resolve request.
func (s *Server) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auth)
}

func (s *Server) file(repo, path string) *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[repo][path]
}

// route dispatches GET /api/models/{org}/{repo}/tree/{rev},
// /{org}/{repo}/resolve/{rev}/{path...} and /cdn/{sha} (ServeMux patterns
// cannot hold the first two side by side), and for dataset repositories
// (added as "datasets/ORG/NAME") /api/datasets/{org}/{repo}/tree/{rev} and
// /datasets/{org}/{repo}/resolve/{rev}/{path...}.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	kind := ""
	if rest, ok := strings.CutPrefix(p, "api/datasets/"); ok {
		p, kind = "api/models/"+rest, "datasets/"
	} else if rest, ok := strings.CutPrefix(p, "datasets/"); ok {
		p, kind = rest, "datasets/"
	}
	seg := strings.SplitN(p, "/", 6)
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case len(seg) == 6 && seg[0] == "api" && seg[1] == "models" && seg[4] == "tree":
		s.tree(w, r, kind+seg[2]+"/"+seg[3])
	case len(seg) == 2 && seg[0] == "cdn" && kind == "":
		s.cdn(w, r, seg[1])
	case len(seg) >= 5 && seg[2] == "resolve":
		s.resolve(w, r, kind+seg[0]+"/"+seg[1], strings.Join(seg[4:], "/"))
	default:
		http.NotFound(w, r)
	}
}

// admit applies gating and injected 503s; it reports whether to go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, repo string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	if s.knobs.Fail5xx > 0 {
		s.knobs.Fail5xx--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return false
	}
	if _, ok := s.repos[repo]; !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return false
	}
	if tok, ok := s.gated[repo]; ok {
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

type lfsInfo struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

type treeEntry struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsInfo `json:"lfs,omitempty"`
}

func (s *Server) tree(w http.ResponseWriter, r *http.Request, repo string) {
	if !s.admit(w, r, repo) {
		return
	}
	if r.URL.Query().Get("recursive") != "true" {
		s.t.Errorf("hubtest: tree request without recursive=true: %s", r.URL)
	}
	s.mu.Lock()
	var entries []treeEntry
	dirs := map[string]bool{}
	for p, f := range s.repos[repo] {
		if i := strings.LastIndex(p, "/"); i > 0 && !dirs[p[:i]] {
			dirs[p[:i]] = true
			entries = append(entries, treeEntry{Type: "directory", OID: "0", Path: p[:i]})
		}
		e := treeEntry{Type: "file", OID: SHA256(f.Data)[:40], Size: int64(len(f.Data)), Path: p}
		if f.Published != "" {
			e.LFS = &lfsInfo{OID: f.Published, Size: int64(len(f.Data))}
		}
		entries = append(entries, e)
	}
	pageSize := s.knobs.PageSize
	s.mu.Unlock()
	slices.SortFunc(entries, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })
	if pageSize > 0 {
		cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		cursor = min(cursor, len(entries))
		end := min(cursor+pageSize, len(entries))
		if end < len(entries) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?recursive=true&cursor=%d>; rel="next"`, s.URL, r.URL.Path, end))
		}
		entries = entries[cursor:end]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, repo, path string) {
	if !s.admit(w, r, repo) {
		return
	}
	f := s.file(repo, path)
	if f == nil {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", strings.Repeat("c", 40))
	if f.Published == "" { // a plain git file: served directly
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Data))
		return
	}
	w.Header().Set("X-Linked-Etag", `"`+f.Published+`"`)
	w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.Data)))
	w.Header().Set("Location", "/cdn/"+f.Published+"?repo="+repo+"&path="+path)
	w.WriteHeader(http.StatusFound)
}

func (s *Server) cdn(w http.ResponseWriter, r *http.Request, sha string) {
	f := s.file(r.URL.Query().Get("repo"), r.URL.Query().Get("path"))
	if f == nil || f.Published != sha {
		http.NotFound(w, r)
		return
	}
	body := f.Data
	if f.Served != nil {
		body = f.Served
	}
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	drop, stall := int64(-1), int64(-1)
	if s.knobs.Drops > 0 {
		s.knobs.Drops--
		drop = s.knobs.DropAfter
	} else if s.knobs.Stalls > 0 {
		s.knobs.Stalls--
		stall = s.knobs.StallAfter
	}
	noRange, delay := s.knobs.NoRange, s.knobs.ChunkDelay
	s.mu.Unlock()

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
	// limit is where this response stops early: a drop or a stall.
	limit := int64(-1)
	if drop >= 0 {
		limit = drop
	} else if stall >= 0 {
		limit = stall
	}
	sent := int64(0)
	for pos := start; pos < int64(len(body)); {
		end := min(pos+4096, int64(len(body)))
		if limit >= 0 {
			end = min(end, pos+limit-sent)
		}
		n, err := w.Write(body[pos:end])
		sent += int64(n)
		s.Served.Add(int64(n))
		pos += int64(n)
		if err != nil {
			return
		}
		w.(http.Flusher).Flush()
		if sent == drop {
			panic(http.ErrAbortHandler) // the server closes the connection mid-body
		}
		if sent == stall {
			<-r.Context().Done() // nothing more until the client gives up
			return
		}
		if delay > 0 {
			time.Sleep(delay)
		}
	}
}

// GGUF returns a small valid GGUF file of architecture arch (none if ""),
// padded with a random F32 tensor of n elements so that downloads span many
// chunks; seed makes files differ.
func GGUF(t testing.TB, arch string, n int, seed uint64) []byte {
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
