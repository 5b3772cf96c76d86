package train

import (
	"math"

	"github.com/qilin-ai/qilin/kernels"
)

// Causal grouped-query attention over packed rows. Each row of T positions
// holds whole documents one after another; a query attends to the keys of
// its own document up to itself, never across a boundary. Per document
// segment [s, e) and query head h of KV group g:
//
//	S = Q_h[s:e] K_g[s:e]^T * scale   (len, len)
//	P = softmax(S) with j > i masked  (len, len), saved for the backward
//	O_h[s:e] = P V_g[s:e]             (len, hd)
//
// One task per (row, KV head) does the group's query heads in order, so
// that the gradients of K_g and V_g are each summed by one thread in a
// fixed order.

// attnShape is what the attention tasks need to know of the model.
type attnShape struct {
	rows, T, heads, kvHeads, hd int
	scale                       float32
}

func (a attnShape) qd() int { return a.heads * a.hd }
func (a attnShape) kd() int { return a.kvHeads * a.hd }

// segments calls f for each document [s, e) of row r of b.
func (b *Batch) segments(r int, f func(s, e int)) {
	start := b.Start[r*b.T : (r+1)*b.T]
	for s := 0; s < b.T; {
		e := s + 1
		for e < b.T && int(start[e]) == s {
			e++
		}
		f(s, e)
		s = e
	}
}

// attnScratch is one thread's working space.
type attnScratch struct {
	gemm kernels.GemmScratch
	dp   []float32 // (T, T)
}

// attnTask runs the forward or the backward of attention for a range of
// (row, KV head) pairs.
type attnTask struct {
	sh       attnShape
	b        *Batch
	backward bool
	q, k, v  []float32 // (N, qd), (N, kd), (N, kd)
	p        []float32 // (rows, heads, T, T)
	out      []float32 // (N, qd)
	// backward: dout is the gradient of out; dq, dk, dv are overwritten.
	dout, dq, dk, dv []float32
	scratch          chan *attnScratch
}

func newAttnTask(sh attnShape, threads int) *attnTask {
	t := &attnTask{sh: sh, scratch: make(chan *attnScratch, threads)}
	for i := 0; i < threads; i++ {
		t.scratch <- &attnScratch{dp: make([]float32, sh.T*sh.T)}
	}
	return t
}

func (t *attnTask) Run(lo, hi int) {
	s := <-t.scratch
	for x := lo; x < hi; x++ {
		r, g := x/t.sh.kvHeads, x%t.sh.kvHeads
		if t.backward {
			t.backwardGroup(s, r, g)
		} else {
			t.forwardGroup(s, r, g)
		}
	}
	t.scratch <- s
}

// attnBlock is one query head over one document of a row: the document's
// length and the offsets of its first row in the (N, qd) and (N, kd)
// buffers and of its block in P (row stride T).
type attnBlock struct {
	n, h     int
	first    bool // the first query head of its KV group
	q, kv, p int
}

// blocks calls f for every document of row r and query head of KV head g,
// documents in order and, within each, the group's heads in order.
func (t *attnTask) blocks(r, g int, f func(blk attnBlock)) {
	sh := t.sh
	group := sh.heads / sh.kvHeads
	t.b.segments(r, func(s0, e int) {
		row0 := r*sh.T + s0
		for h := g * group; h < (g+1)*group; h++ {
			f(attnBlock{n: e - s0, h: h, first: h == g*group, q: row0*sh.qd() + h*sh.hd, kv: row0*sh.kd() + g*sh.hd,
				p: ((r*sh.heads+h)*sh.T+s0)*sh.T + s0})
		}
	})
}

// forwardGroup computes the outputs of the query heads of KV head g in row r.
func (t *attnTask) forwardGroup(s *attnScratch, r, g int) {
	T, hd, qd, kd := t.sh.T, t.sh.hd, t.sh.qd(), t.sh.kd()
	t.blocks(r, g, func(b attnBlock) {
		n, p := b.n, t.p[b.p:]
		s.gemm.Gemm(false, true, n, n, hd, t.q[b.q:], qd, t.k[b.kv:], kd, p, T, false)
		for i := 0; i < n; i++ {
			softmaxCausal(p[i*T:i*T+n], i, t.sh.scale)
		}
		s.gemm.Gemm(false, false, n, hd, n, p, T, t.v[b.kv:], kd, t.out[b.q:], qd, false)
	})
}

// softmaxCausal replaces row (the scores of query i against keys 0..len)
// by the softmax of scale*row[:i+1], with zeros past i.
func softmaxCausal(row []float32, i int, scale float32) {
	live := row[:i+1]
	mx := float32(math.Inf(-1))
	for j, v := range live {
		v *= scale
		live[j] = v
		mx = max(mx, v)
	}
	for j := range live {
		live[j] -= mx
	}
	kernels.Exp(live, live)
	var sum float32
	for _, v := range live {
		sum += v
	}
	inv := 1 / sum
	for j := range live {
		live[j] *= inv
	}
	clear(row[i+1:])
}

// backwardGroup computes the gradients of the query heads of KV head g in
// row r and of K_g, V_g:
//
//	dP = dO V^T, dV = P^T dO, dS = P ⊙ (dP - rowsum(dP ⊙ P)) * scale,
//	dQ = dS K, dK = dS^T Q.
func (t *attnTask) backwardGroup(s *attnScratch, r, g int) {
	T, hd, qd, kd := t.sh.T, t.sh.hd, t.sh.qd(), t.sh.kd()
	t.blocks(r, g, func(b attnBlock) {
		n, p, doh := b.n, t.p[b.p:], t.dout[b.q:]
		dp := s.dp[:n*n]
		s.gemm.Gemm(false, true, n, n, hd, doh, qd, t.v[b.kv:], kd, dp, n, false)
		s.gemm.Gemm(true, false, n, hd, n, p, T, doh, qd, t.dv[b.kv:], kd, !b.first)
		for i := 0; i < n; i++ {
			pr, dr := p[i*T:i*T+i+1], dp[i*n:i*n+n]
			var dot float32
			for j, pv := range pr {
				dot += pv * dr[j]
			}
			for j, pv := range pr {
				dr[j] = pv * (dr[j] - dot) * t.sh.scale
			}
			clear(dr[i+1:])
		}
		s.gemm.Gemm(false, false, n, hd, n, dp, n, t.k[b.kv:], kd, t.dq[b.q:], qd, false)
		s.gemm.Gemm(true, false, n, hd, n, dp, n, t.q[b.q:], qd, t.dk[b.kv:], kd, !b.first)
	})
}
