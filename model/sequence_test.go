package model

import (
	"testing"

	"github.com/qilin-ai/qilin/kernels"
)

// evalSeq evaluates toks at positions from, from+1, ... of c in batches of
// up to bs tokens and returns the logits after each (len(toks), n_vocab).
func evalSeq(t *testing.T, r *Runner, m *Model, c *Cache, toks []int, from, bs int) []float32 {
	t.Helper()
	out := make([]float32, 0, len(toks)*m.NVocab)
	buf := make([]float32, bs*m.NVocab)
	for s := 0; s < len(toks); s += bs {
		n := min(bs, len(toks)-s)
		b := &Batch{Tokens: toks[s : s+n], Pos: make([]int, n), Caches: make([]*Cache, n), Logits: make([]bool, n)}
		for i := range n {
			b.Pos[i], b.Caches[i], b.Logits[i] = from+s+i, c, true
		}
		if err := r.Forward(b, buf); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n*m.NVocab]...)
	}
	return out
}

// TestRecurrentSnapshots: a qwen35 cache resumes at the end of its
// sequence, at the block boundaries (SnapshotEvery) and at its mark, and
// nowhere else; what it computes after resuming there is bit for bit what
// an uninterrupted run computes, also in another cache (CopyPrefix).
func TestRecurrentSnapshots(t *testing.T) {
	s := tinySpecs[11]
	if s.arch != "qwen35" || s.wtype.String() != "F32" {
		t.Fatalf("spec %s is not the F32 qwen35 spec", s.name())
	}
	_, m := loadTiny(t, s)
	pool := kernels.NewPool(2)
	defer pool.Close()
	const n, mark = 600, 300
	toks := make([]int, n)
	for i := range toks {
		toks[i] = (i*31 + 7) % s.vocab
	}
	r := m.NewRunner(pool, 64, n+8)
	full := m.NewCache(n + 8)
	full.MarkSnapshot(mark)
	// Batches below kernels.AttnTileRows, whose attention does not depend
	// on how the sequence is split into batches.
	want := evalSeq(t, r, m, full, toks, 0, 16)
	V := m.NVocab

	for _, tc := range []struct{ ask, at int }{
		{n, n}, {599, 512}, {511, 300}, {300, 300}, {299, 256}, {255, 0}, {0, 0},
	} {
		if got := full.Reusable(tc.ask); got != tc.at {
			t.Errorf("Reusable(%d) = %d, want %d", tc.ask, got, tc.at)
		}
	}

	// Copied into a fresh cache at the mark, then continued.
	other := m.NewCache(n + 8)
	if k := other.CopyPrefix(full, 310); k != mark {
		t.Fatalf("CopyPrefix(310) kept %d, want %d", k, mark)
	}
	got := evalSeq(t, r, m, other, toks[mark:], mark, 16)
	if !equalF32(got, want[mark*V:]) {
		t.Errorf("after CopyPrefix at %d: logits differ from the uninterrupted run", mark)
	}

	// Rewound in place to the block boundary 512, then to 256, each
	// time continuing as the uninterrupted run.
	for _, at := range []int{512, 256} {
		if k := full.Seek(at + 10); k != at {
			t.Fatalf("Seek(%d) = %d, want %d", at+10, k, at)
		}
		got := evalSeq(t, r, m, full, toks[at:at+40], at, 16)
		if !equalF32(got, want[at*V:(at+40)*V]) {
			t.Errorf("after Seek to %d: logits differ from the uninterrupted run", at)
		}
	}
	// The snapshots past the rewind point are gone: 512 no longer holds.
	if k := full.Reusable(599); k != 296 {
		t.Errorf("after rewinding to 256 and 40 tokens: Reusable(599) = %d, want 296 (the end)", k)
	}

	// Continuing anywhere else is an error, not a wrong answer.
	b := &Batch{Tokens: []int{1}, Pos: []int{100}, Caches: []*Cache{full}, Logits: []bool{true}}
	if err := r.Forward(b, make([]float32, V)); err == nil {
		t.Errorf("Forward at position 100 of a sequence at 296: no error")
	}
	// Position 0 restarts, dropping the snapshots.
	b.Pos[0] = 0
	if err := r.Forward(b, make([]float32, V)); err != nil {
		t.Fatal(err)
	}
	if k := full.Reusable(300); k != 1 {
		t.Errorf("after a restart: Reusable(300) = %d, want 1", k)
	}
}

// TestAttentionCacheReusesAnyPrefix: without recurrent layers every prefix
// is reusable.
func TestAttentionCacheReusesAnyPrefix(t *testing.T) {
	_, m := loadTiny(t, tinySpecs[0])
	c := m.NewCache(32)
	c.MarkSnapshot(5)
	for _, k := range []int{0, 7, 31} {
		if got := c.Reusable(k); got != k {
			t.Errorf("Reusable(%d) = %d", k, got)
		}
		if got := c.Seek(k); got != k {
			t.Errorf("Seek(%d) = %d", k, got)
		}
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
