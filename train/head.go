package train

// The output head: final hidden states -> logits -> losses and their
// gradient, a chunk of positions at a time so that the logits of a large
// vocabulary never need (N, n_vocab) floats. Each chunk's logits buffer
// receives the gradient in place once a row's losses are computed.

// lossWeights says how the losses of a micro-batch are weighted: ce and kd
// are per-position weights (the mix divided by the step's number of
// targets of each kind), tau the distillation temperature. teacher, for
// online distillation, holds the teacher's logits (N, n_vocab).
type lossWeights struct {
	ce, kd  float32
	tau     float32
	reverse bool
	teacher []float32
}

// lossSums are the summed losses of a micro-batch and the number of
// positions each was taken over.
type lossSums struct {
	ce, kd   float64
	nCE, nKD int
}

func (s *lossSums) add(o lossSums) {
	s.ce += o.ce
	s.kd += o.kd
	s.nCE += o.nCE
	s.nKD += o.nKD
}

// headBudget bounds the logits buffer, in floats (128 MiB).
const headBudget = 32 << 20

type headTask struct {
	m       *Model
	V       int
	chunk   int
	logits  []float32 // (chunk, V), then its gradient
	rowCE   []float64 // (chunk)
	rowKD   []float64
	scratch chan *headScratch

	b  *Batch
	t0 int
	w  lossWeights
}

type headScratch struct {
	z    []float32 // a copy of the row's logits (V)
	rows []float32 // four scratch rows (4, V)
	mark []bool    // (V), all false between rows
}

func newHeadTask(m *Model, threads int) *headTask {
	V, N := m.Config.NVocab, m.rows*m.T
	chunk := min(N, max(64, headBudget/V))
	t := &headTask{m: m, V: V, chunk: chunk, logits: make([]float32, chunk*V),
		rowCE: make([]float64, chunk), rowKD: make([]float64, chunk), scratch: make(chan *headScratch, threads)}
	for i := 0; i < threads; i++ {
		t.scratch <- &headScratch{z: make([]float32, V), rows: make([]float32, 4*V), mark: make([]bool, V)}
	}
	return t
}

// Run computes the losses of rows [lo, hi) of the current chunk and
// replaces their logits by the loss gradient.
func (t *headTask) Run(lo, hi int) {
	s := <-t.scratch
	V, b, w := t.V, t.b, t.w
	lp, q := s.rows[:V], s.rows[V:2*V]
	for r := lo; r < hi; r++ {
		i := t.t0 + r
		dz := t.logits[r*V : (r+1)*V]
		target, kdLo, kdHi := int(b.Target[i]), b.KDOff[i], b.KDOff[i+1]
		t.rowCE[r], t.rowKD[r] = 0, 0
		copy(s.z, dz)
		clear(dz)
		if target >= 0 {
			t.rowCE[r] = crossEntropy(dz, s.z, lp, q, target, w.ce)
			if w.teacher != nil {
				t.rowKD[r] = fullKL(dz, s.z, w.teacher[i*V:(i+1)*V], s.rows, w.reverse, w.tau, w.kd)
			}
		}
		if kdHi > kdLo {
			t.rowKD[r] = topkKL(dz, s.z, lp, q, s.mark, b.KDID[kdLo:kdHi], b.KDLogp[kdLo:kdHi], w.tau, w.kd)
		}
	}
	t.scratch <- s
}

// headLoss evaluates the head over b after forward and returns the summed
// losses. With grad it leaves in m.dres the gradient of the last block's
// output and adds the head's weight gradients.
func (m *Model) headLoss(b *Batch, w lossWeights, grad bool) lossSums {
	c, t := m.Config, m.head
	N, E, V := b.Rows*b.T, c.NEmbd, c.NVocab
	dlnf := m.dln[:N*E]
	if grad {
		clear(dlnf)
	}
	var sums lossSums
	t.b, t.w = b, w
	for t0 := 0; t0 < N; t0 += t.chunk {
		n := min(t.chunk, N-t0)
		if !b.anyLoss(t0, t0+n) {
			continue
		}
		logits := t.logits[:n*V]
		m.out.forward(m.pool, logits, m.lnf[t0*E:], n)
		t.t0 = t0
		m.pool.Parallel(n, 4, t)
		for r := 0; r < n; r++ {
			i := t0 + r
			if b.Target[i] >= 0 {
				sums.ce += t.rowCE[r]
				sums.nCE++
			}
			if b.KDOff[i+1] > b.KDOff[i] || (w.teacher != nil && b.Target[i] >= 0) {
				sums.kd += t.rowKD[r]
				sums.nKD++
			}
		}
		if grad {
			m.out.backward(m.pool, dlnf[t0*E:], logits, m.lnf[t0*E:], n)
		}
	}
	t.b, t.w = nil, lossWeights{}
	if grad {
		dres := m.dres[:N*E]
		clear(dres)
		rmsnormBackward(dres, m.dOutNorm, dlnf, m.res[c.NLayer][:N*E], m.outNorm, m.rstdf, N, E)
	}
	return sums
}

// anyLoss reports whether a position in [lo, hi) carries a loss.
func (b *Batch) anyLoss(lo, hi int) bool {
	for i := lo; i < hi; i++ {
		if b.Target[i] >= 0 || b.KDOff[i+1] > b.KDOff[i] {
			return true
		}
	}
	return false
}

// step runs the forward and the backward of b, adding to the gradients.
func (m *Model) step(b *Batch, w lossWeights) lossSums {
	m.forward(b)
	s := m.headLoss(b, w, true)
	m.backward(b)
	return s
}

// eval runs the forward of b and returns its losses.
func (m *Model) eval(b *Batch, w lossWeights) lossSums {
	m.forward(b)
	return m.headLoss(b, w, false)
}

// logitsOf runs the forward of b and writes the logits of every position
// into out (N, n_vocab).
func (m *Model) logitsOf(b *Batch, out []float32) {
	m.forward(b)
	c := m.Config
	N, E, V := b.Rows*b.T, c.NEmbd, c.NVocab
	for t0 := 0; t0 < N; t0 += m.head.chunk {
		n := min(m.head.chunk, N-t0)
		m.out.forward(m.pool, out[t0*V:(t0+n)*V], m.lnf[t0*E:], n)
	}
}
