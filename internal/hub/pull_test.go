package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/hub/hubtest"
	"github.com/qilin-ai/qilin/store"
)

const repo = "org/Model-GGUF"

func newHub(t *testing.T) *hubtest.Server { return hubtest.New(t) }

// client returns a Client for h with fast retries.
func client(h *hubtest.Server) *hub.Client {
	return &hub.Client{Endpoint: h.URL, Retries: 3, Backoff: time.Millisecond, StallTimeout: 5 * time.Second}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// blobData returns the bytes the store holds for the model name.
func blobData(t *testing.T, s *store.Store, name string) []byte {
	t.Helper()
	path, err := s.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobDir lists blobs/, to check for leftovers.
func blobDir(t *testing.T, s *store.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// standardRepo fills repo with two quantizations, a projector and a README.
func standardRepo(t *testing.T, h *hubtest.Server) (q4, q8 []byte) {
	q4 = hubtest.GGUF(t, "qwen2", 50000, 1)
	q8 = hubtest.GGUF(t, "llama", 20000, 2)
	h.Add(repo, "Model-Q4_K_M.gguf", q4)
	h.Add(repo, "Model-Q8_0.gguf", q8)
	h.Add(repo, "mmproj-Model-F16.gguf", []byte("projector"))
	h.Add(repo, "README.md", []byte("# model")).Published = ""
	return q4, q8
}

func TestPullFull(t *testing.T) {
	h := newHub(t)
	q4, q8 := standardRepo(t, h)
	s := newStore(t)
	ctx := context.Background()

	var notes []string
	var meterMax int64
	opts := hub.PullOptions{
		Logf: func(f string, a ...any) { notes = append(notes, f) },
		Meter: func(file string, size int64) hub.Meter {
			if file != "Model-Q4_K_M.gguf" || size != int64(len(q4)) {
				t.Errorf("meter for %s (%d bytes), want Model-Q4_K_M.gguf (%d)", file, size, len(q4))
			}
			return meterFunc(func(n int64) { meterMax = max(meterMax, n) })
		},
	}
	m, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Manifest{Name: "hf.co/" + repo + ":Q4_K_M", Source: "hf.co/" + repo, Quant: "Q4_K_M", Arch: "qwen2",
		Size: int64(len(q4)), Files: []store.Blob{{Digest: "sha256:" + hubtest.SHA256(q4), Name: "Model-Q4_K_M.gguf", Size: int64(len(q4))}}}
	if diff := cmp.Diff(want, m, ignoreTimes); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if !bytes.Equal(blobData(t, s, m.Name), q4) {
		t.Errorf("stored bytes differ from the Hub's")
	}
	if meterMax != int64(len(q4)) {
		t.Errorf("progress reached %d of %d bytes", meterMax, len(q4))
	}
	if got := h.Served.Load(); got != int64(len(q4)) {
		t.Errorf("CDN served %d bytes for a %d-byte file", got, len(q4))
	}
	if diff := cmp.Diff([]string{"sha256-" + hubtest.SHA256(q4)}, blobDir(t, s)); diff != "" {
		t.Errorf("blobs/ (-want +got):\n%s", diff)
	}

	// Pulling again fetches nothing; another quantization is another blob.
	if _, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo+":q4_k_m", opts); err != nil {
		t.Fatal(err)
	}
	if got := h.Served.Load(); got != int64(len(q4)) {
		t.Errorf("second pull fetched %d more bytes", got-int64(len(q4)))
	}
	m8, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo+":Q8_0", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m8.Arch != "llama" || m8.Quant != "Q8_0" || !bytes.Equal(blobData(t, s, m8.Name), q8) {
		t.Errorf("Q8_0 pull: %+v", m8)
	}
	if ms, _ := s.List(); len(ms) != 2 {
		t.Errorf("store lists %d models, want 2", len(ms))
	}
}

func TestPullUpdate(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	s := newStore(t)
	ctx := context.Background()
	if _, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo, hub.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	newer := hubtest.GGUF(t, "qwen2", 50000, 7)
	h.Add(repo, "Model-Q4_K_M.gguf", newer)
	m, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blobData(t, s, m.Name), newer) {
		t.Errorf("pull after an update on the Hub kept the old file")
	}
	if diff := cmp.Diff([]string{"sha256-" + hubtest.SHA256(newer)}, blobDir(t, s)); diff != "" {
		t.Errorf("blobs/ after the update (-want +got), old %s:\n%s", hubtest.SHA256(q4), diff)
	}
}

func TestPullFileRefAndNonLFS(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	tiny := hubtest.GGUF(t, "qwen3", 16, 3)
	h.Add(repo, "sub/tiny-F32.gguf", tiny).Published = "" // small files live in git, not LFS
	s := newStore(t)
	m, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo+"/sub/tiny-F32.gguf", hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "hf.co/"+repo+"/sub/tiny-F32.gguf" || m.Quant != "F32" || m.Arch != "qwen3" || m.Files[0].Digest != "sha256:"+hubtest.SHA256(tiny) {
		t.Errorf("manifest %+v", m)
	}
	if !bytes.Equal(blobData(t, s, m.Name), tiny) {
		t.Errorf("stored bytes differ")
	}
	if names := blobDir(t, s); len(names) != 1 {
		t.Errorf("blobs/ holds %v, want the one blob", names)
	}
}

func TestPullSplit(t *testing.T) {
	h := newHub(t)
	// Real split files: each part is a GGUF, the first carries the metadata.
	part1 := hubtest.GGUF(t, "qwen2", 30000, 4)
	part2 := hubtest.GGUF(t, "", 20000, 5)
	h.Add(repo, "Q4_K_M/Model-Q4_K_M-00002-of-00002.gguf", part2)
	h.Add(repo, "Q4_K_M/Model-Q4_K_M-00001-of-00002.gguf", part1)
	h.Add(repo, "Model-Q8_0.gguf", []byte("other"))
	s := newStore(t)
	m, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff([]string{"Model-Q4_K_M-00001-of-00002.gguf", "Model-Q4_K_M-00002-of-00002.gguf"}, names); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	parts, err := s.Parts(m.Name)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(parts[0])
	b, _ := os.ReadFile(parts[1])
	if !bytes.Equal(a, part1) || !bytes.Equal(b, part2) || m.Size != int64(len(part1)+len(part2)) {
		t.Errorf("parts differ from the Hub's (%d+%d bytes, manifest size %d)", len(a), len(b), m.Size)
	}
	if m.Arch != "qwen2" {
		t.Errorf("arch %q from the first part, want qwen2", m.Arch)
	}
}

// TestPullResumeWithinCall cuts the connection mid-file: the retry asks
// for the rest with Range and no byte is fetched twice.
func TestPullResumeWithinCall(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	const cut = 70001
	h.Configure(func(k *hubtest.Knobs) { k.DropAfter, k.Drops = cut, 1 })
	s := newStore(t)
	m, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkResumed(t, h, s, m, q4, cut)
}

// checkResumed checks a download of data cut at byte cut: one request
// without Range, one for the rest, no byte served twice, the right bytes.
func checkResumed(t *testing.T, h *hubtest.Server, s *store.Store, m *store.Manifest, data []byte, cut int) {
	t.Helper()
	if diff := cmp.Diff([]string{"", fmt.Sprintf("bytes=%d-", cut)}, h.Ranges()); diff != "" {
		t.Errorf("CDN Range headers (-want +got):\n%s", diff)
	}
	if got := h.Served.Load(); got != int64(len(data)) {
		t.Errorf("CDN served %d bytes in all for a %d-byte file: bytes fetched twice", got, len(data))
	}
	if !bytes.Equal(blobData(t, s, m.Name), data) {
		t.Errorf("resumed file differs from the Hub's")
	}
}

// TestPullResumeAcrossRuns interrupts a pull for good, then pulls again:
// the second run asks only for the bytes the first did not get.
func TestPullResumeAcrossRuns(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	const cut = 123457
	h.Configure(func(k *hubtest.Knobs) { k.DropAfter, k.Drops = cut, 1 })
	s := newStore(t)
	c := client(h)
	c.Retries = 0
	_, err := hub.Pull(context.Background(), c, s, "hf.co/"+repo, hub.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "connection lost at byte 123457") {
		t.Fatalf("interrupted pull: %v, want a connection-lost error at byte %d", err, cut)
	}
	partial := filepath.Join(s.Dir(), "blobs", "sha256-"+hubtest.SHA256(q4)+".partial")
	if fi, err := os.Stat(partial); err != nil || fi.Size() != cut {
		t.Fatalf("partial file after the cut: %v, %v; want %d bytes", fi, err, cut)
	}
	if ms, _ := s.List(); len(ms) != 0 {
		t.Errorf("an interrupted pull recorded a manifest: %v", ms[0].Name)
	}
	m, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkResumed(t, h, s, m, q4, cut)
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("partial file left after success: %v", err)
	}
}

func TestPullStallRetries(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.StallAfter, k.Stalls = 9000, 1 })
	c := client(h)
	c.StallTimeout = 100 * time.Millisecond
	s := newStore(t)
	m, err := hub.Pull(context.Background(), c, s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "bytes=9000-"}, h.Ranges()); diff != "" {
		t.Errorf("CDN Range headers (-want +got):\n%s", diff)
	}
	if !bytes.Equal(blobData(t, s, m.Name), q4) {
		t.Errorf("file differs after a stall")
	}
}

func TestPullServerIgnoresRange(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.DropAfter, k.Drops, k.NoRange = 5000, 1, true })
	s := newStore(t)
	m, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blobData(t, s, m.Name), q4) {
		t.Errorf("file differs when the server answers a Range request with the whole file")
	}
}

func TestPullChecksumMismatch(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	bad := bytes.Clone(q4)
	bad[len(bad)/2] ^= 1
	h.Add(repo, "Model-Q4_K_M.gguf", q4).Served = bad // the CDN delivers corrupted bytes
	s := newStore(t)
	_, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if !errors.Is(err, hub.ErrChecksum) {
		t.Fatalf("pull of corrupted bytes: %v, want ErrChecksum", err)
	}
	for _, want := range []string{hubtest.SHA256(q4), hubtest.SHA256(bad), "deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if names := blobDir(t, s); len(names) != 0 {
		t.Errorf("blobs/ after a refused download: %v, want empty", names)
	}
	if ms, _ := s.List(); len(ms) != 0 {
		t.Errorf("manifest recorded for a refused download")
	}
}

func TestPullChangedOnHub(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	s := newStore(t)
	c := client(h)
	files, err := c.ListFiles(context.Background(), repo, "")
	if err != nil {
		t.Fatal(err)
	}
	newer := hubtest.GGUF(t, "qwen2", 50000, 99)
	h.Add(repo, "Model-Q4_K_M.gguf", newer) // replaced after the listing
	var f hub.File
	for _, x := range files {
		if x.Path == "Model-Q4_K_M.gguf" {
			f = x
		}
	}
	_, err = c.Download(context.Background(), repo, "", f, filepath.Join(s.Dir(), "x.partial"), nil)
	if err == nil || !strings.Contains(err.Error(), "changed on the Hub") {
		t.Errorf("download of a file replaced since listing: %v", err)
	}
}

func TestPullErrors(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	h.Add("org/Gated-GGUF", "Gated-Q4_K_M.gguf", hubtest.GGUF(t, "llama", 10, 5))
	h.Gate("org/Gated-GGUF", "secret")
	h.Add("org/Gone-GGUF", "Gone-Q4_K_M.gguf", []byte("x"))
	tests := []struct {
		name  string
		ref   string
		token string
		is    error
		says  []string
	}{
		{"unknown repository", "hf.co/org/Nope-GGUF", "", hub.ErrNotFound, []string{"hf.co/org/Nope-GGUF", "repository", "not found", "HF_TOKEN"}},
		{"unknown file", "hf.co/" + repo + "/missing.gguf", "", hub.ErrNotFound, []string{`"missing.gguf"`, "not found", "Model-Q4_K_M.gguf"}},
		{"gated without token", "hf.co/org/Gated-GGUF", "", hub.ErrAccess, []string{"hf.co/org/Gated-GGUF", "401", "gated", "set HF_TOKEN"}},
		{"gated with a wrong token", "hf.co/org/Gated-GGUF", "wrong", hub.ErrAccess, []string{"403", "HF_TOKEN given has no access"}},
		{"no such quantization runnable", "hf.co/org/Gone-GGUF:IQ2_XXS", "", nil, []string{"Q4_K_M"}}, // falls back: succeeds
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(h)
			c.Token = tt.token
			_, err := hub.Pull(context.Background(), c, newStore(t), tt.ref, hub.PullOptions{})
			if tt.is == nil {
				if err != nil {
					t.Errorf("Pull: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("Pull: %v, want %v", err, tt.is)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}

	// A file that is listed but whose resolve URL is gone.
	c := client(h)
	_, err := c.Download(context.Background(), repo, "", hub.File{Path: "Deleted-Q4_K_M.gguf", Size: 3}, filepath.Join(t.TempDir(), "p"), nil)
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), `file "Deleted-Q4_K_M.gguf"`) {
		t.Errorf("download of a missing file: %v", err)
	}

	// With the right token the gated repository pulls, and the token went along.
	c.Token = "secret"
	if _, err := hub.Pull(context.Background(), c, newStore(t), "hf.co/org/Gated-GGUF", hub.PullOptions{}); err != nil {
		t.Errorf("gated pull with the token: %v", err)
	}
	if last := h.Auth()[len(h.Auth())-1]; last != "Bearer secret" {
		t.Errorf("last request carried Authorization %q", last)
	}
}

func TestRetryTransient(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.Fail5xx = 3 })
	if _, err := hub.Pull(context.Background(), client(h), newStore(t), "hf.co/"+repo, hub.PullOptions{}); err != nil {
		t.Errorf("pull after 3 transient 503s with 3 retries: %v", err)
	}
	h.Configure(func(k *hubtest.Knobs) { k.Fail5xx = 3 })
	c := client(h)
	c.Retries = 2
	_, err := hub.Pull(context.Background(), c, newStore(t), "hf.co/"+repo, hub.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("pull after 3 transient 503s with 2 retries: %v, want the 503", err)
	}
}

func TestListFilesPaginated(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	h.Add(repo, "a/b/c-Q2_K.gguf", []byte("c"))
	h.Configure(func(k *hubtest.Knobs) { k.PageSize = 2 })
	files, err := client(h).ListFiles(context.Background(), repo, "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := []string{"Model-Q4_K_M.gguf", "Model-Q8_0.gguf", "README.md", "a/b/c-Q2_K.gguf", "mmproj-Model-F16.gguf"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("files over pages (-want +got):\n%s", diff)
	}
	if files[2].SHA256 != "" || files[0].SHA256 == "" {
		t.Errorf("LFS oids: README %q, model %q", files[2].SHA256, files[0].SHA256)
	}
}

func TestOfflineMakesNoConnection(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	s := newStore(t)
	off := client(h)
	off.Offline = true
	ctx := context.Background()

	_, err := hub.Pull(ctx, off, s, "hf.co/"+repo, hub.PullOptions{})
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "QILIN_OFFLINE=1") {
		t.Errorf("offline pull: %v, want ErrOffline naming QILIN_OFFLINE=1", err)
	}
	if _, err := off.ListFiles(ctx, repo, ""); !errors.Is(err, hub.ErrOffline) {
		t.Errorf("offline ListFiles: %v", err)
	}
	if _, err := off.Download(ctx, repo, "", hub.File{Path: "Model-Q8_0.gguf"}, filepath.Join(t.TempDir(), "x"), nil); !errors.Is(err, hub.ErrOffline) {
		t.Errorf("offline Download: %v", err)
	}
	if n := h.Conns.Load(); n != 0 {
		t.Errorf("offline mode opened %d connections", n)
	}

	// Once pulled, an offline pull finds the model without the network.
	if _, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo, hub.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	before := h.Conns.Load()
	if _, err := hub.Pull(ctx, off, s, "hf.co/"+repo+":Q4_K_M", hub.PullOptions{}); err != nil {
		t.Errorf("offline pull of a present model: %v", err)
	}
	if n := h.Conns.Load(); n != before {
		t.Errorf("offline pull of a present model opened %d connections", n-before)
	}
}

func TestHostileNames(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	outside := t.TempDir()
	s, _ := store.Open(filepath.Join(outside, "store"))
	h.Add(repo, "../../x-Q4_K_M.gguf", []byte("escape"))
	_, err := hub.Pull(context.Background(), client(h), s, "hf.co/"+repo, hub.PullOptions{})
	if !errors.Is(err, hub.ErrUnsafe) || !strings.Contains(err.Error(), `"../../x-Q4_K_M.gguf"`) {
		t.Errorf("pull from a repository listing ../../x: %v, want ErrUnsafe naming it", err)
	}
	for _, p := range []string{"/abs.gguf", `..\x.gguf`, "a/./b.gguf", "a//b.gguf", "c:x.gguf"} {
		h2 := newHub(t)
		h2.Add(repo, p, []byte("x"))
		if _, err := client(h2).ListFiles(context.Background(), repo, ""); !errors.Is(err, hub.ErrUnsafe) {
			t.Errorf("listing with %q: %v, want ErrUnsafe", p, err)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("files written beside the store: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(outside, "x-Q4_K_M.gguf")); !os.IsNotExist(err) {
		t.Errorf("hostile file written: %v", err)
	}

	// A hostile LFS oid never becomes a path.
	h3 := newHub(t)
	h3.Add(repo, "M-Q4_K_M.gguf", []byte("x")).Published = "../../../../etc/passwd"
	if _, err := client(h3).ListFiles(context.Background(), repo, ""); err == nil || !strings.Contains(err.Error(), "malformed LFS oid") {
		t.Errorf("listing with a hostile oid: %v", err)
	}
	// Hostile references are refused before any request.
	for _, ref := range []string{"hf.co/org/repo/../../x.gguf", "hf.co/../x", "hf.co/org/..", "hf.co/org/re po"} {
		if _, err := hub.Pull(context.Background(), client(h), s, ref, hub.PullOptions{}); err == nil {
			t.Errorf("Pull(%q) accepted", ref)
		}
	}
}

func TestConcurrentPulls(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.ChunkDelay = 200 * time.Microsecond }) // the pulls overlap
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			// Two spellings of one model, and a second store handle on the same directory.
			ref := "hf.co/" + repo
			if i%2 == 1 {
				ref = "hf.co/" + repo + ":Q4_K_M"
			}
			si, _ := store.Open(s.Dir())
			_, errs[i] = hub.Pull(context.Background(), client(h), si, ref, hub.PullOptions{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	if got := h.Served.Load(); got != int64(len(q4)) {
		t.Errorf("CDN served %d bytes for 4 concurrent pulls of a %d-byte file, want one download", got, len(q4))
	}
	if !bytes.Equal(blobData(t, s, "hf.co/"+repo+":Q4_K_M"), q4) {
		t.Errorf("stored file corrupted")
	}
	if diff := cmp.Diff([]string{"sha256-" + hubtest.SHA256(q4)}, blobDir(t, s)); diff != "" {
		t.Errorf("blobs/ (-want +got):\n%s", diff)
	}
}

func TestCancelKeepsPartial(t *testing.T) {
	h := newHub(t)
	q4, _ := standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.ChunkDelay = time.Millisecond })
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	opts := hub.PullOptions{Meter: func(string, int64) hub.Meter {
		return meterFunc(func(n int64) {
			if n > 40000 {
				cancel()
			}
		})
	}}
	if _, err := hub.Pull(ctx, client(h), s, "hf.co/"+repo, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled pull: %v", err)
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), "blobs", "sha256-"+hubtest.SHA256(q4)+".partial"))
	if err != nil || fi.Size() < 40000 {
		t.Errorf("partial after cancel: %v, %v", fi, err)
	}
}

// meterFunc adapts a function to hub.Meter.
type meterFunc func(int64)

func (f meterFunc) Set(n int64) { f(n) }
func (f meterFunc) Finish()     {}

// TestUnreachableFailsFast: a name that does not resolve or a refused
// connection is not retried, and the error names the settings that help.
func TestUnreachableFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	noDNS := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "huggingface.co", IsNotFound: true}}
	}}}
	for _, c := range []struct {
		name   string
		client *hub.Client
		want   string
	}{
		{"connection refused", &hub.Client{Endpoint: closed, Retries: 5, Backoff: time.Millisecond}, "connection refused"},
		{"no DNS", &hub.Client{HTTP: noDNS, Retries: 5, Backoff: time.Millisecond}, "no such host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			retries := 0
			c.client.OnRetry = func(int, int, time.Duration, error) { retries++ }
			_, err := hub.Pull(context.Background(), c.client, newStore(t), "hf.co/"+repo, hub.PullOptions{})
			if !errors.Is(err, hub.ErrUnreachable) {
				t.Fatalf("pull: %v, want ErrUnreachable", err)
			}
			for _, want := range []string{c.want, "HF_ENDPOINT", "QILIN_OFFLINE=1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if retries != 0 {
				t.Errorf("%d retries of an unreachable endpoint, want none", retries)
			}
		})
	}
}

// TestRetriesAreReported: each retry of a transient failure is announced
// with its number and the failure.
func TestRetriesAreReported(t *testing.T) {
	h := newHub(t)
	standardRepo(t, h)
	h.Configure(func(k *hubtest.Knobs) { k.Fail5xx = 2 })
	c := client(h)
	var got []string
	c.OnRetry = func(try, retries int, wait time.Duration, err error) {
		if wait <= 0 {
			t.Errorf("retry %d announced with wait %v", try, wait)
		}
		got = append(got, fmt.Sprintf("%d/%d %v", try, retries, strings.Contains(err.Error(), "503")))
	}
	if _, err := hub.Pull(context.Background(), c, newStore(t), "hf.co/"+repo, hub.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1/3 true", "2/3 true"}, got); diff != "" {
		t.Errorf("retries announced (-want +got):\n%s", diff)
	}
}

// TestDatasetFiles: a dataset repository ("datasets/ORG/NAME") lists and
// fetches through the Hub's dataset URLs, resumes a dropped download and
// checks the content, as model files do; a model of the same name is
// another repository.
func TestDatasetFiles(t *testing.T) {
	h := newHub(t)
	data := bytes.Repeat([]byte("question,answer\n"), 4096)
	h.Add("datasets/openai/gsm8k", "main/test-00000-of-00001.parquet", data)
	h.Add("datasets/openai/gsm8k", "README.md", []byte("# gsm8k")).Published = ""
	c := client(h)
	files, err := c.ListFiles(context.Background(), "datasets/openai/gsm8k", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.File{{Path: "README.md", Size: 7}, {Path: "main/test-00000-of-00001.parquet", Size: int64(len(data)), SHA256: hubtest.SHA256(data)}}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	if _, err := c.ListFiles(context.Background(), "openai/gsm8k", ""); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("the model repository openai/gsm8k: %v, want not found", err)
	}
	h.Configure(func(k *hubtest.Knobs) { k.Drops, k.DropAfter = 1, 1000 })
	s := newStore(t)
	for _, f := range files {
		b, err := hub.FetchFile(context.Background(), c, s, "datasets/openai/gsm8k", "main", f, hub.PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		path, ok, err := s.Blob(b.Digest)
		if err != nil || !ok {
			t.Fatalf("%s: blob %s not in the store (%v)", f.Path, b.Digest, err)
		}
		got, _ := os.ReadFile(path)
		if f.SHA256 != "" && !bytes.Equal(got, data) || f.SHA256 == "" && string(got) != "# gsm8k" {
			t.Errorf("%s: the store holds %d other bytes", f.Path, len(got))
		}
	}
	if r := h.Ranges(); len(r) != 2 || r[1] != "bytes=1000-" {
		t.Errorf("CDN ranges %q: want the dropped download resumed at byte 1000", r)
	}
	if _, err := c.ListFiles(context.Background(), "datasets/../x", ""); !errors.Is(err, hub.ErrUnsafe) {
		t.Errorf("datasets/../x: %v, want refused as unsafe", err)
	}
}
