//go:build !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/qilin-ai/qilin/quant"
)

// simdSets returns the AVX2 kernel set when the CPU has AVX2, FMA and F16C.
func simdSets() []*kernelSet {
	if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return nil
	}
	ks := &kernelSet{name: "avx2", toF16: toF16AVX2Go, attnScores: attnScoresAVX2Go, exp: expAVX2Go, expf: expfAVX2Go, attnAccum: attnAccumAVX2Go, swiglu: swigluAVX2Go, delta: deltaRuleAVX2Go,
		tileLoad: tileLoadAVX2Go, tileScores: tileScoresAVX2Go, tileWeights: tileWeightsAVX2Go, tileAccum: tileAccumAVX2Go}
	kDot := func(t quant.Type, rows func(nb int, w *byte, wstride, rows int, a *byte, out *float32), four func(nb int, w, a *byte, astride int, out *float32, ostride int)) {
		bl, wb, ab := t.BlockLen(), t.BlockSize(), quant.VecDotType(t).BlockSize()
		ks.dots[t] = rowsDot(bl, wb, ab, func(nb int, w *byte, wstride, r int, a *byte, _ *float32, out *float32) {
			rows(nb, w, wstride, r, a, out)
		}, false)
		ks.dots[t].four = func(n int, w, a []byte, stride int, _ []float32, _ int, out []float32, ostride int) {
			_ = out[3*ostride]
			nb := n / bl
			if nb == 0 {
				zero4(out, ostride)
				return
			}
			_, _ = w[nb*wb-1], a[3*stride+nb*ab-1]
			four(nb, &w[0], &a[0], stride, &out[0], ostride)
		}
	}
	q8Dot := func(t quant.Type, rows func(nb int, w *byte, wstride, rows int, a *byte, ad *float32, out *float32), four func(nb int, w, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)) {
		wb := t.BlockSize()
		ks.dots[t] = rowsDot(32, wb, 34, rows, true)
		ks.dots[t].four = func(n int, w, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
			_ = out[3*ostride]
			nb := n / 32
			if nb == 0 {
				zero4(out, ostride)
				return
			}
			_, _, _ = w[nb*wb-1], a[3*stride+nb*34-1], ad[3*adStride+nb-1]
			four(nb, &w[0], &a[0], stride, &ad[0], 4*adStride, &out[0], ostride)
		}
	}
	q8Dot(quant.Q8_0, dotQ8_0x1AVX2, dotQ8_0x4AVX2)
	q8Dot(quant.Q4_0, dotQ4_0x1AVX2, dotQ4_0x4AVX2)
	q8Dot(quant.Q5_0, dotQ5_0x1AVX2, dotQ5_0x4AVX2)
	ks.dots[quant.Q8_0].eight = eightWith(quant.Q8_0, dotQ8_0x8AVX2)
	ks.dots[quant.Q5_0].eight = eightWith(quant.Q5_0, dotQ5_0x8AVX2)
	ks.dots[quant.Q8_0].tile = tileKernel{repack: repackWith(quant.Q8_0, repackQ8_0AVX2), run: runLanes2x4}
	ks.dots[quant.Q5_0].tile = tileKernel{repack: repackWith(quant.Q5_0, repackQ5_0AVX2), run: runLanes2x4}
	kDot(quant.Q4_K, dotQ4_Kx1AVX2, dotQ4_Kx4AVX2)
	ks.plain[quant.Q4_K] = rowsDot(quant.QK_K, 144, 292, func(nb int, w *byte, wstride, r int, a *byte, _ *float32, out *float32) {
		dotQ4_KLanesx1AVX2(nb, w, wstride, r, a, out)
	}, false)
	kDot(quant.Q5_K, dotQ5_Kx1AVX2, dotQ5_Kx4AVX2)
	kDot(quant.Q6_K, dotQ6_Kx1AVX2, dotQ6_Kx4AVX2)
	kDot(quant.Q2_K, dotQ2_Kx1AVX2, dotQ2_Kx4AVX2)
	kDot(quant.Q3_K, dotQ3_Kx1AVX2, dotQ3_Kx4AVX2)
	kDot(quant.Q4_1, dotQ4_1x1AVX2, dotQ4_1x4AVX2)
	kDot(quant.Q5_1, dotQ5_1x1AVX2, dotQ5_1x4AVX2)
	ks.dots[quant.F16] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 {
		return floatDot(n, w, a, 2, dotF16AVX2, quant.VecDotF16)
	}}
	ks.dots[quant.F32] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 {
		var s float32
		if n64 := n / 64; n64 > 0 {
			_, _ = w[256*n64-1], a[256*n64-1]
			s = dotF32VecAVX2(n64, &w[0], &a[0])
		}
		return f32Tail(s, n&^63, n, w, a)
	}}
	ks.f32Gemm = func(n int, w, a []byte, _ []float32) float32 {
		n16 := n / 16 // f32GemmFor: n is a multiple of 16
		if n16 == 0 {
			return 0
		}
		_, _ = w[64*n16-1], a[64*n16-1]
		return dotF32GemmAVX2(n16, &w[0], &a[0])
	}
	ks.dots[quant.BF16] = dotKernel{one: func(n int, w, a []byte, _ []float32) float32 {
		return floatDot(n, w, a, 2, dotBF16AVX2, quant.VecDotBF16)
	}}

	ks.quantize[quant.Q8_0] = func(x []float32, dst []byte) {
		if nb := len(x) / 32; nb > 0 {
			_ = dst[nb*34-1]
			quantQ8_0AVX2(&x[0], &dst[0], nb)
		}
	}
	ks.quantize[quant.Q8_K] = func(x []float32, dst []byte) {
		if nb := len(x) / quant.QK_K; nb > 0 {
			_ = dst[nb*292-1]
			quantQ8_KAVX2(&x[0], &dst[0], nb)
		}
	}
	ks.quantize[quant.F16] = func(x []float32, dst []byte) {
		dst = dst[:2*len(x)]
		if len(x) > 0 {
			toF16AVX2Go(unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), len(x)), x)
		}
	}
	return []*kernelSet{ks}
}

// zero4 clears out[i*ostride] for the four rows.
func zero4(out []float32, ostride int) {
	for i := 0; i < 4; i++ {
		out[i*ostride] = 0
	}
}

// floatDot runs a float dot kernel over the multiple-of-8 head of n
// elements of size bytes each and adds the scalar dot of the tail.
func floatDot(n int, w, a []byte, size int, k func(n8 int, w, a *byte) float32, tail func(n int, w, a []byte) float32) float32 {
	n8 := n / 8
	var s float32
	if n8 > 0 {
		_, _ = w[8*n8*size-1], a[8*n8*size-1]
		s = k(n8, &w[0], &a[0])
	}
	if r := n - 8*n8; r > 0 {
		s += tail(r, w[8*n8*size:], a[8*n8*size:])
	}
	return s
}

// attnScoresAVX2Go scores with attnScoresAVX2 when the head size is a
// multiple of 8, in Go otherwise.
func attnScoresAVX2Go(s, q []float32, k []uint16, kStride int, scale float32) {
	n, hk := len(s), len(q)
	if n == 0 || hk == 0 || hk%8 != 0 {
		attnScoresGo(s, q, k, kStride, scale)
		return
	}
	_ = k[(n-1)*kStride+hk-1]
	attnScoresAVX2(n, hk/64, hk%64/8, &q[0], &k[0], 2*kStride, scale, &s[0])
}

// expAVX2Go runs expAVX2 over multiples of 8 and expGo over the rest.
func expAVX2Go(dst, x []float32) {
	x = x[:len(dst)]
	n8 := len(dst) / 8
	if n8 > 0 {
		expAVX2(n8, &x[0], &dst[0])
	}
	expGo(dst[8*n8:], x[8*n8:])
}

// expfAVX2Go runs expfAVX2 over multiples of 8 and expfGo over the rest.
func expfAVX2Go(dst, x []float32) {
	x = x[:len(dst)]
	n8 := len(dst) / 8
	if n8 > 0 {
		expfAVX2(n8, &x[0], &dst[0])
	}
	expfGo(dst[8*n8:], x[8*n8:])
}

// attnAccumAVX2Go accumulates 64 and then 8 columns at a time when the
// value size is a multiple of 8, in Go otherwise.
func attnAccumAVX2Go(acc, v []uint16, vStride int, e []float32, up []bool, sum float32) float32 {
	n, hv := len(e), len(acc)
	if n == 0 || hv%8 != 0 {
		return attnAccumGo(acc, v, vStride, e, up, sum)
	}
	_, _ = up[n-1], v[(n-1)*vStride+hv-1]
	s := sum
	for c := 0; c < hv; {
		if c+64 <= hv {
			s = attnAccum64AVX2(n, &acc[c], &v[c], 2*vStride, &e[0], &up[0], sum)
			c += 64
		} else {
			s = attnAccum8AVX2(n, &acc[c], &v[c], 2*vStride, &e[0], &up[0], sum)
			c += 8
		}
	}
	return s
}

// toF16AVX2Go converts with VCVTPS2PH over multiples of 8 and in Go for
// the rest.
func toF16AVX2Go(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	n8 := len(src) / 8
	if n8 > 0 {
		toF16AVX2(n8, &src[0], &dst[0])
	}
	toF16Go(dst[8*n8:], src[8*n8:])
}

// repackWith returns the tileKernel.repack of weight type t from its
// one-row assembly repacker.
func repackWith(t quant.Type, k func(nb int, w, q *byte, d *float32)) func(n int, w0, w1, dst []byte) {
	bs := t.BlockSize()
	return func(n int, w0, w1, dst []byte) {
		nb := n / 32
		if nb == 0 {
			return
		}
		_, _, _ = w0[nb*bs-1], w1[nb*bs-1], dst[nb*pairBlock-1]
		k(nb, &w0[0], &dst[0], (*float32)(unsafe.Pointer(&dst[64])))
		k(nb, &w1[0], &dst[32], (*float32)(unsafe.Pointer(&dst[68])))
	}
}

// eightWith returns the dotKernel.eight of weight type t (blocks of 32,
// Q8_0 activations) from its assembly kernel.
func eightWith(t quant.Type, k func(nb int, w *byte, wstride, rows int, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)) func(n int, w []byte, rowBytes, rows int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
	bs := t.BlockSize()
	return func(n int, w []byte, rowBytes, rows int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
		if rows <= 0 {
			return
		}
		_ = out[7*ostride+rows-1]
		nb := n / 32
		if nb == 0 {
			for i := 0; i < 8; i++ {
				clear(out[i*ostride : i*ostride+rows])
			}
			return
		}
		_, _, _ = w[(rows-1)*rowBytes+nb*bs-1], a[7*stride+nb*34-1], ad[7*adStride+nb-1]
		k(nb, &w[0], rowBytes, rows, &a[0], stride, &ad[0], 4*adStride, &out[0], ostride)
	}
}

// runLanes2x4 is tileKernel.run for weights repacked as signed bytes, in the
// eight-lane order of the Q8_0 and Q5_0 kernels.
func runLanes2x4(n int, w []byte, pairs int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
	nb := n / 32
	if nb == 0 || pairs == 0 {
		for t := 0; t < 4; t++ {
			clear(out[t*ostride : t*ostride+2*pairs])
		}
		return
	}
	_, _, _, _ = w[pairs*nb*pairBlock-1], a[3*stride+nb*34-1], ad[3*adStride+nb-1], out[3*ostride+2*pairs-1]
	dotLanes2x4AVX2(nb, &w[0], pairs, &a[0], stride, &ad[0], 4*adStride, &out[0], ostride)
}

// deltaRuleAVX2Go runs deltaRuleAVX2 when the head size is a multiple of
// 8, deltaRuleGo otherwise.
func deltaRuleAVX2Go(state, q, k, v, o []float32, decay, beta float32) {
	S := len(k)
	if S == 0 || S%8 != 0 {
		deltaRuleGo(state, q, k, v, o, decay, beta)
		return
	}
	_, _, _, _ = state[S*S-1], q[S-1], v[S-1], o[S-1]
	deltaRuleAVX2(S/8, &state[0], &q[0], &k[0], &v[0], &o[0], decay, beta)
}

// swigluAVX2Go runs swigluAVX2 over each whole group of 16 and
// swigluTail over the rest, as swigluGo.
func swigluAVX2Go(gate, up []float32) {
	up = up[:len(gate)]
	n16 := len(gate) &^ 15
	if n16 > 0 {
		swigluAVX2(n16/8, &gate[0], &up[0])
	}
	swigluTail(gate[n16:], up[n16:])
}

// tileLoadAVX2Go converts whole groups of 8 keys and values with
// tileLoadAVX2 when the head sizes are multiples of 8, the rest in Go.
func tileLoadAVX2Go(kt, vt []float32, k []uint16, kStride int, v []uint16, vStride int, hk, hv, b int) {
	b8 := b / 8
	if hk%8 != 0 || hv%8 != 0 || b8 == 0 {
		tileLoadGo(kt, vt, k, kStride, v, vStride, hk, hv, b)
		return
	}
	_, _ = k[(8*b8-1)*kStride+hk-1], v[(8*b8-1)*vStride+hv-1]
	_, _ = kt[hk*attnTileKV-1], vt[8*b8*hv-1]
	tileLoadAVX2(b8, hk/8, hv/8, &k[0], 2*kStride, &v[0], 2*vStride, &kt[0], &vt[0])
	for j := 8 * b8; j < b; j++ {
		for d := 0; d < hk; d++ {
			kt[d*attnTileKV+j] = quant.FP16ToFP32(k[j*kStride+d])
		}
		for d := 0; d < hv; d++ {
			vt[j*hv+d] = quant.FP16ToFP32(v[j*vStride+d])
		}
	}
}

// tileScoresAVX2Go runs tileScoresAVX2.
func tileScoresAVX2Go(s, q, kt []float32, scale float32) {
	if len(q) == 0 {
		tileScoresGo(s, q, kt, scale)
		return
	}
	_, _ = s[attnTileKV-1], kt[len(q)*attnTileKV-1]
	tileScoresAVX2(len(q), &q[0], &kt[0], scale, &s[0])
}

// tileWeightsAVX2Go computes the weights with tileExpAVX2 and their sum as
// tileWeightsGo.
func tileWeightsAVX2Go(x []float32, m float32) float64 {
	x = x[:attnTileKV]
	tileExpAVX2(&x[0], m)
	return tileSum(x)
}

// tileAccumAVX2Go runs tileAccumAVX2 when the value size is a multiple of
// 16, Go otherwise.
func tileAccumAVX2Go(acc, vt, e []float32) {
	hv := len(acc)
	if len(e) == 0 || hv%16 != 0 {
		tileAccumGo(acc, vt, e)
		return
	}
	_ = vt[len(e)*hv-1]
	tileAccumAVX2(len(e), hv/16, &acc[0], &vt[0], &e[0])
}
