package train

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// Model is a student being trained, llm.c style: its float32 parameters and
// their gradients each in one flat buffer, every activation the backward
// needs allocated once for a micro-batch of rows x T positions, and an
// explicit forward and backward for each layer. Under LoRA the large
// matrices are frozen, kept in their file's block format and read through
// dequantized chunks, and only the adapters train.
type Model struct {
	Config Config
	pool   *kernels.Pool
	rows   int
	T      int

	params, grads *paramSet
	// loraCfg is the adapter configuration, nil for full training.
	loraCfg *LoRA

	emb      []float32      // token_embd (n_vocab, E) when trainable
	dEmb     []float32      // its gradient
	embBase  kernels.Matrix // token_embd when frozen
	blocks   []*block
	outNorm  []float32 // output_norm (E)
	dOutNorm []float32
	out      *linear // output (n_vocab, E), token_embd when tied

	rope *ropeTable
	attn *attnTask
	deq  *dequantizer
	head *headTask

	res      [][]float32 // residual stream before each block and after the last: L+1 of (N, E)
	lnf      []float32   // final norm (N, E)
	rstdf    []float32   // (N)
	dres     []float32   // gradient of the residual stream (N, E)
	dln      []float32   // gradient of a norm's output (N, E)
	dq, dao  []float32   // (N, qd)
	dk, dv   []float32   // (N, kd)
	dg, du   []float32   // (N, F)
	da, dtmp []float32   // (N, F)
}

// block is one transformer layer: its weights and saved activations.
type block struct {
	attnNorm, dAttnNorm []float32 // attn_norm (E); the gradient nil when frozen
	ffnNorm, dFFNNorm   []float32 // ffn_norm (E)
	q, k, v, o          *linear
	gate, up, down      *linear

	ln1, rstd1 []float32 // attention input, normed (N, E), and 1/rms (N)
	q1, k1, v1 []float32 // after bias and rotation: (N, qd), (N, kd), (N, kd)
	p          []float32 // attention probabilities (rows, heads, T, T)
	ao         []float32 // attention output (N, qd)
	xm         []float32 // residual after attention (N, E)
	ln2, rstd2 []float32 // FFN input, normed (N, E), and 1/rms (N)
	g, u, a    []float32 // gate, up, silu(gate)*up: (N, F) each
}

// newModel wires a model of config c around params (laid out by the
// caller: every tensor of c.tensors() for full training, or the vectors
// and the adapters under LoRA, with frozen matrices from base).
func newModel(c Config, pool *kernels.Pool, rows, T int, params *paramSet, base func(name string) kernels.Matrix, lcfg *LoRA) *Model {
	N := rows * T
	E, qd, kd, F := c.NEmbd, c.QDim(), c.KVDim(), c.NFF
	m := &Model{Config: c, pool: pool, rows: rows, T: T, params: params, grads: params.like(), loraCfg: lcfg}
	maxCols := max(E, F, qd)
	m.deq = newDequantizer(maxCols)
	grad := func(name string) []float32 {
		if params.frozen(name) {
			return nil
		}
		return m.grads.get(name)
	}
	lin := func(name string, out, in int, bias bool) *linear {
		l := &linear{name: name, out: out, in: in, deq: m.deq}
		if params.has(name + ".weight") {
			l.w, l.dw = params.get(name+".weight"), grad(name+".weight")
		} else {
			l.base = base(name + ".weight")
		}
		if bias {
			l.b, l.db = params.get(name+".bias"), grad(name+".bias")
		}
		if params.has(name + ".lora_a") {
			l.ad = &adapter{r: lcfg.Rank, scale: float32(lcfg.Alpha / float64(lcfg.Rank)),
				a: params.get(name + ".lora_a"), da: m.grads.get(name + ".lora_a"),
				b: params.get(name + ".lora_b"), db: m.grads.get(name + ".lora_b"),
				xa: make([]float32, N*lcfg.Rank), dxa: make([]float32, N*lcfg.Rank)}
		}
		return l
	}
	if params.has("token_embd.weight") {
		m.emb, m.dEmb = params.get("token_embd.weight"), grad("token_embd.weight")
	} else {
		m.embBase = base("token_embd.weight")
	}
	for li := 0; li < c.NLayer; li++ {
		p := fmt.Sprintf("blk.%d.", li)
		b := &block{
			attnNorm: params.get(p + "attn_norm.weight"), dAttnNorm: grad(p + "attn_norm.weight"),
			ffnNorm: params.get(p + "ffn_norm.weight"), dFFNNorm: grad(p + "ffn_norm.weight"),
			q: lin(p+"attn_q", qd, E, c.QKVBias()), k: lin(p+"attn_k", kd, E, c.QKVBias()),
			v: lin(p+"attn_v", kd, E, c.QKVBias()), o: lin(p+"attn_output", E, qd, false),
			gate: lin(p+"ffn_gate", F, E, false), up: lin(p+"ffn_up", F, E, false), down: lin(p+"ffn_down", E, F, false),
			ln1: make([]float32, N*E), rstd1: make([]float32, N),
			q1: make([]float32, N*qd), k1: make([]float32, N*kd), v1: make([]float32, N*kd),
			p: make([]float32, rows*c.NHead*T*T), ao: make([]float32, N*qd), xm: make([]float32, N*E),
			ln2: make([]float32, N*E), rstd2: make([]float32, N),
			g: make([]float32, N*F), u: make([]float32, N*F), a: make([]float32, N*F),
		}
		m.blocks = append(m.blocks, b)
	}
	m.outNorm, m.dOutNorm = params.get("output_norm.weight"), grad("output_norm.weight")
	if c.Tied {
		m.out = &linear{name: "output", out: c.NVocab, in: E, w: m.emb, dw: m.dEmb, base: m.embBase, deq: m.deq}
	} else {
		m.out = lin("output", c.NVocab, E, false)
	}
	m.rope = newRopeTable(c, T)
	m.attn = newAttnTask(attnShape{rows: rows, T: T, heads: c.NHead, kvHeads: c.NHeadKV, hd: c.HeadDim,
		scale: float32(1 / math.Sqrt(float64(c.HeadDim)))}, pool.Threads())
	m.head = newHeadTask(m, pool.Threads())
	for i := 0; i <= c.NLayer; i++ {
		m.res = append(m.res, make([]float32, N*E))
	}
	m.lnf, m.rstdf = make([]float32, N*E), make([]float32, N)
	m.dres, m.dln = make([]float32, N*E), make([]float32, N*E)
	m.dq, m.dao = make([]float32, N*qd), make([]float32, N*qd)
	m.dk, m.dv = make([]float32, N*kd), make([]float32, N*kd)
	m.dg, m.du, m.da, m.dtmp = make([]float32, N*F), make([]float32, N*F), make([]float32, N*F), make([]float32, N*F)
	return m
}

// checkBatch panics when b does not fit the model (a programming error:
// the trainer sizes its batches from the model).
func (m *Model) checkBatch(b *Batch) {
	if b.Rows > m.rows || b.T != m.T {
		panic(fmt.Sprintf("train: batch of %dx%d for a model sized for %dx%d", b.Rows, b.T, m.rows, m.T))
	}
}

// forward runs the blocks and the final norm over b, leaving the
// activations for backward and the normed final states in m.lnf.
func (m *Model) forward(b *Batch) {
	m.checkBatch(b)
	c := m.Config
	N, E := b.Rows*b.T, c.NEmbd
	x := m.res[0][:N*E]
	for i, tok := range b.Tokens[:N] {
		row := x[i*E : (i+1)*E]
		if m.emb != nil {
			copy(row, m.emb[int(tok)*E:(int(tok)+1)*E])
		} else if err := quant.Dequantize(m.embBase.Type, m.embBase.Data[int(tok)*m.embBase.RowBytes:(int(tok)+1)*m.embBase.RowBytes], row); err != nil {
			panic(err) // checked when the model was loaded
		}
	}
	for li, bl := range m.blocks {
		m.blockForward(bl, b, m.res[li][:N*E], m.res[li+1][:N*E])
	}
	rmsnormForward(m.lnf, m.rstdf, m.res[c.NLayer][:N*E], m.outNorm, N, E, c.NormEps)
}

func (m *Model) blockForward(bl *block, b *Batch, in, out []float32) {
	c, p := m.Config, m.pool
	N, E, F := b.Rows*b.T, c.NEmbd, c.NFF
	qd, kd := c.QDim(), c.KVDim()
	rmsnormForward(bl.ln1, bl.rstd1, in, bl.attnNorm, N, E, c.NormEps)
	q, k, v := bl.q1[:N*qd], bl.k1[:N*kd], bl.v1[:N*kd]
	bl.q.forward(p, q, bl.ln1, N)
	bl.k.forward(p, k, bl.ln1, N)
	bl.v.forward(p, v, bl.ln1, N)
	for i := 0; i < N; i++ {
		m.rope.rotate(q[i*qd:(i+1)*qd], c.NHead, int(b.Pos[i]), false)
		m.rope.rotate(k[i*kd:(i+1)*kd], c.NHeadKV, int(b.Pos[i]), false)
	}
	t := m.attn
	t.b, t.backward, t.q, t.k, t.v, t.p, t.out = b, false, q, k, v, bl.p, bl.ao
	p.Parallel(b.Rows*c.NHeadKV, 1, t)
	xm := bl.xm[:N*E]
	bl.o.forward(p, xm, bl.ao, N)
	kernels.Add(xm, in)
	rmsnormForward(bl.ln2, bl.rstd2, xm, bl.ffnNorm, N, E, c.NormEps)
	g, u, a := bl.g[:N*F], bl.u[:N*F], bl.a[:N*F]
	bl.gate.forward(p, g, bl.ln2, N)
	bl.up.forward(p, u, bl.ln2, N)
	swigluForward(a, g, u)
	bl.down.forward(p, out, a, N)
	kernels.Add(out, xm)
}

// backward propagates m.dres, the gradient of the last block's output
// (already through the final norm), down to the embeddings, adding every
// trainable weight's gradient into m.grads.
func (m *Model) backward(b *Batch) {
	c := m.Config
	N, E := b.Rows*b.T, c.NEmbd
	for li := c.NLayer - 1; li >= 0; li-- {
		m.blockBackward(m.blocks[li], b, m.res[li][:N*E])
	}
	if m.dEmb != nil {
		for i, tok := range b.Tokens[:N] {
			kernels.Add(m.dEmb[int(tok)*E:(int(tok)+1)*E], m.dres[i*E:(i+1)*E])
		}
	}
}

// blockBackward turns m.dres, the gradient of the block's output, into the
// gradient of its input in, which was the block's input in the forward.
func (m *Model) blockBackward(bl *block, b *Batch, in []float32) {
	c, p := m.Config, m.pool
	N, E, F := b.Rows*b.T, c.NEmbd, c.NFF
	qd, kd := c.QDim(), c.KVDim()
	dres, dln := m.dres[:N*E], m.dln[:N*E]

	// FFN: out = xm + down(swiglu(gate(ln2), up(ln2))).
	da, dg, du := m.da[:N*F], m.dg[:N*F], m.du[:N*F]
	clear(da)
	bl.down.backward(p, da, dres, bl.a, N)
	swigluBackward(dg, du, da, bl.g[:N*F], bl.u[:N*F], m.dtmp)
	clear(dln)
	bl.gate.backward(p, dln, dg, bl.ln2, N)
	bl.up.backward(p, dln, du, bl.ln2, N)
	rmsnormBackward(dres, bl.dFFNNorm, dln, bl.xm, bl.ffnNorm, bl.rstd2, N, E)

	// Attention: xm = in + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1))).
	dao := m.dao[:N*qd]
	clear(dao)
	bl.o.backward(p, dao, dres, bl.ao, N)
	dq, dk, dv := m.dq[:N*qd], m.dk[:N*kd], m.dv[:N*kd]
	t := m.attn
	t.b, t.backward, t.q, t.k, t.v, t.p = b, true, bl.q1, bl.k1, bl.v1, bl.p
	t.dout, t.dq, t.dk, t.dv = dao, dq, dk, dv
	p.Parallel(b.Rows*c.NHeadKV, 1, t)
	for i := 0; i < N; i++ {
		m.rope.rotate(dq[i*qd:(i+1)*qd], c.NHead, int(b.Pos[i]), true)
		m.rope.rotate(dk[i*kd:(i+1)*kd], c.NHeadKV, int(b.Pos[i]), true)
	}
	clear(dln)
	bl.q.backward(p, dln, dq, bl.ln1, N)
	bl.k.backward(p, dln, dk, bl.ln1, N)
	bl.v.backward(p, dln, dv, bl.ln1, N)
	rmsnormBackward(dres, bl.dAttnNorm, dln, in, bl.attnNorm, bl.rstd1, N, E)
}

// Trainable returns the number of trained parameters (all of them, or the
// adapters' under LoRA).
func (m *Model) Trainable() int64 {
	var n int64
	for _, s := range m.params.specs {
		if !s.frozen {
			n += int64(s.size())
		}
	}
	return n
}

// zeroGrad clears the gradients.
func (m *Model) zeroGrad() { clear(m.grads.data) }
