package kernels

import (
	"github.com/qilin-ai/qilin/quant"
)

// kernelSet is one implementation level of the hot loops: the pure-Go
// generic set, which calls package quant's scalar specifications, or a SIMD
// set chosen at run time from the CPU's features. Every SIMD kernel has the
// generic one as its twin and the tests compare each set against it.
type kernelSet struct {
	name string
	dots [maxType]dotKernel
	// plain holds, where set, the set's kernel with the bits of plainDot(t):
	// the weights llama.cpp leaves unrepacked. Unset: plainDot's Go twin.
	plain [maxType]dotKernel
	// quantize converts rows of activations to type t (Q8_0, Q8_K, F16);
	// nil entries fall back to quant.Quantize.
	quantize [maxType]func(x []float32, dst []byte)
	// toF16 converts floats to f16 (round to nearest even), as
	// quant.FP32ToFP16.
	toF16 func(dst []uint16, src []float32)
	// attnScores, expf and attnAccum are the stages of blocked attention,
	// each with the bits of its Go version: attnScoresGo, expfGo (glibc's
	// expf) and attnAccumGo. exp is Go's math.Exp in float32 (expGo), for
	// Exp.
	attnScores func(s, q []float32, k []uint16, kStride int, scale float32)
	exp        func(dst, x []float32)
	expf       func(dst, x []float32)
	attnAccum  func(acc, v []uint16, vStride int, e []float32, up []bool, sum float32) float32
	// tileLoad, tileScores, tileWeights and tileAccum are the stages of
	// tiled attention, with the bits of their Go versions (tileLoadGo, ...).
	tileLoad    func(kt, vt []float32, k []uint16, kStride int, v []uint16, vStride int, hk, hv, b int)
	tileScores  func(s, q, kt []float32, scale float32)
	tileWeights func(x []float32, m float32) float64
	tileAccum   func(acc, vt, e []float32)
	// swiglu is SwiGLU's element-wise arithmetic, as swigluGo.
	swiglu func(gate, up []float32)
	// delta is one token's gated delta rule on one head, as deltaRuleGo.
	delta func(state, q, k, v, o []float32, decay, beta float32)
	// f32Gemm is the F32 dot product in tinyBLAS's order (f32.go), with the
	// bits of dotF32Gemm; dots[F32] has ggml_vec_dot_f32's. nil: the
	// generic one.
	f32Gemm func(n int, w, a []byte, ad []float32) float32
}

// maxType bounds the quant.Type ids the tables cover (BF16 = 30 is the
// largest implemented).
const maxType = 32

// dotKernel computes dot products of one weight row with quantized
// activation rows. one is w (n elements) . a; four writes out[i*ostride] =
// w . a_i for the 4 activation rows a_i = a[i*stride:], reusing each weight
// block's unpacking for all four, with each result equal to one's. four may
// be nil. For Q8_0 activations, ad holds the activation row's block scales
// as float32 (row i's at ad[i*adStride:]), which the SIMD kernels read
// instead of converting the f16 in each block; other kernels ignore it.
type dotKernel struct {
	one  func(n int, w, a []byte, ad []float32) float32
	four func(n int, w, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int)
	// rows, where set, is one over a run of weight rows, without a call
	// per row: out[r] = one(n, w[r*rowBytes:], a, ad) for r < len(out).
	rows func(n int, w []byte, rowBytes int, a []byte, ad []float32, out []float32)
	// eight, where set, is one for eight activation rows over a run of
	// weight rows read in place: out[t*ostride+r] = one(n, w[r*rowBytes:],
	// a[t*stride:], ad[t*adStride:]) for r < rows and t < 8, each weight
	// block unpacked once for all eight.
	eight func(n int, w []byte, rowBytes, rows int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int)
	tile  tileKernel
}

// tileKernel is the batched form of a dot kernel over Q8_0 activations.
// repack writes weight rows w0 and w1 (n elements each) into dst
// (tileBytes(n) bytes) in the pair layout; run multiplies pairs repacked
// pairs, stored one after the other at w, with the four activation rows
// a_t = a[t*stride:] (block scales ad[t*adStride:]) and writes row r's dot
// with a_t at out[t*ostride+r]. Every result has the bits of one's. run is
// nil for types without a tiled kernel.
type tileKernel struct {
	repack func(n int, w0, w1, dst []byte)
	run    func(n int, w []byte, pairs int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int)
}

// tileBytes is the size of a pair of repacked rows of n elements: per block
// of 32, both rows' quants as signed bytes and their float32 scales.
func tileBytes(n int) int { return n / 32 * pairBlock }

// pairBlock is the bytes per block of a repacked row pair.
const pairBlock = 72

// genericSet is the pure-Go kernel set; it is always available.
var genericSet = func() *kernelSet {
	ks := &kernelSet{name: "generic", toF16: toF16Go, attnScores: attnScoresGo, exp: expGo, expf: expfGo, attnAccum: attnAccumGo, swiglu: swigluGo,
		delta: deltaRuleGo, tileLoad: tileLoadGo, tileScores: tileScoresGo, tileWeights: tileWeightsGo, tileAccum: tileAccumGo, f32Gemm: dotF32Gemm}
	for t := quant.Type(0); t < maxType; t++ {
		if quant.HasVecDot(t) {
			ks.dots[t] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return quant.VecDot(t, n, w, a) }}
		}
	}
	ks.dots[quant.F32] = dotKernel{one: dotF32Vec}
	ks.dots[quant.Q8_0] = dotKernel{one: dotQ8_0Lanes}
	ks.dots[quant.Q4_0] = dotKernel{one: dotQ4_0Repacked}
	ks.dots[quant.Q5_0] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotQ32Lanes(quant.Q5_0, n, w, a) }}
	for _, t := range []quant.Type{quant.Q4_1, quant.Q5_1} {
		ks.dots[t] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotQ1Lanes(t, n, w, a) }}
	}
	for _, t := range []quant.Type{quant.Q3_K, quant.Q5_K, quant.Q6_K} {
		ks.dots[t] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotKLanes(t, n, w, a) }}
	}
	ks.dots[quant.Q4_K] = dotKernel{
		one: func(n int, w, a []byte, _ []float32) float32 { return dotQ4_KRepacked(n, w, a, 8) },
		four: func(n int, w, a []byte, stride int, _ []float32, _ int, out []float32, ostride int) {
			for i := 0; i < 4; i++ {
				out[i*ostride] = dotQ4_KRepacked(n, w, a[i*stride:], 2)
			}
		},
	}
	ks.dots[quant.Q2_K] = dotKernel{
		one: func(n int, w, a []byte, _ []float32) float32 { return dotQ2_KRepacked(n, w, a, 16) },
		four: func(n int, w, a []byte, stride int, _ []float32, _ int, out []float32, ostride int) {
			for i := 0; i < 4; i++ {
				out[i*ostride] = dotQ2_KRepacked(n, w, a[i*stride:], 8)
			}
		},
	}
	return ks
}()

// kernelSets lists the generic set and then every SIMD set this CPU runs,
// slowest first; the last is the one in use.
var kernelSets = append([]*kernelSet{genericSet}, simdSets()...)

// active is the kernel set MatMul and AttentionHead use.
var active = kernelSets[len(kernelSets)-1]

// Implementation returns the name of the kernel set in use: "generic" or
// the SIMD level ("avx2").
func Implementation() string { return active.name }

// dot returns the dot kernel for weights of type t, falling back to the
// generic one for types the set does not accelerate.
func (ks *kernelSet) dot(t quant.Type) dotKernel {
	if int(t) < maxType {
		if k := ks.dots[t]; k.one != nil {
			return k
		}
		return genericSet.dots[t]
	}
	return dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return quant.VecDot(t, n, w, a) }}
}

// dotFor returns the dot kernel for n activation rows times w: the set's,
// except where llama.cpp computes w differently from its usual kernel (not
// repacked: plainDot; an expert: the one-row kernel only, for the formats
// whose batched kernel rounds otherwise; F32 in a batch: tinyBLAS's order).
func (ks *kernelSet) dotFor(w Matrix, n int) dotKernel {
	if f32GemmFor(w, n) {
		if ks.f32Gemm != nil {
			return dotKernel{one: ks.f32Gemm}
		}
		return dotKernel{one: genericSet.f32Gemm}
	}
	if w.Rows%8 != 0 || w.Layout == Unpacked {
		if k, ok := ks.plainDot(w.Type); ok {
			return k
		}
	}
	k := ks.dot(w.Type)
	if w.Layout == Expert && (w.Type == quant.Q4_K || w.Type == quant.Q2_K) {
		return dotKernel{one: k.one, rows: k.rows}
	}
	return k
}

// plainDot returns the set's kernel for weights of type t that llama.cpp
// leaves unrepacked, as the package function plainDot does.
func (ks *kernelSet) plainDot(t quant.Type) (dotKernel, bool) {
	if int(t) < maxType && ks.plain[t].one != nil {
		return ks.plain[t], true
	}
	return plainDot(t)
}

// quantizeRow converts x to activation type t in dst.
func (ks *kernelSet) quantizeRow(t quant.Type, x []float32, dst []byte) {
	if int(t) < maxType && ks.quantize[t] != nil {
		ks.quantize[t](x, dst)
		return
	}
	if err := quant.QuantizeActivations(t, x, dst); err != nil {
		panic(err) // sizes were checked when the weight was bound
	}
}

// ToF16 converts src to IEEE halves in dst (len(src) of them), rounding to
// nearest even exactly as quant.FP32ToFP16 does (a NaN may keep a different
// payload): the conversion of keys and values into an f16 KV cache.
//
//	src (n) -> dst (n)
func ToF16(dst []uint16, src []float32) { active.toF16(dst[:len(src)], src) }

func toF16Go(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = quant.FP32ToFP16(x)
	}
}
