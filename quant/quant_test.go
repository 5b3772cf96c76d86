package quant

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// implemented lists every type this package encodes and decodes.
var implemented = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K}

// weightTypes are the types with a dot product (as weights).
func weightTypes() []Type {
	var ts []Type
	for _, t := range implemented {
		if HasVecDot(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// relRMSEBound is the largest relative RMS error (RMS(x - deq(q(x))) / RMS(x))
// accepted for standard normal data. For F16 and BF16 it is the RMS of a
// relative rounding error uniform in ±2^-11 (±2^-8): 2^-11/sqrt(3). For
// the block formats it is the error measured on 64K normal samples plus
// about 15%: each extra bit roughly halves it, and the K-quants land close
// to the 32-element formats of one more bit.
var relRMSEBound = map[Type]float64{
	F32:  0,
	F16:  math.Ldexp(1, -11) / math.Sqrt(3),
	BF16: math.Ldexp(1, -8) / math.Sqrt(3),
	Q8_0: 0.0065,
	Q8_1: 0.0065,
	Q8_K: 0.0085,
	Q6_K: 0.021,
	Q5_0: 0.050,
	Q5_1: 0.044,
	Q5_K: 0.042,
	Q4_0: 0.102,
	Q4_1: 0.090,
	Q4_K: 0.083,
	Q3_K: 0.176,
	Q2_K: 0.343,
}

func normals(seed uint64, n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b9))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func mustRowSize(t testing.TB, typ Type, n int) int {
	t.Helper()
	sz, err := typ.RowSize(n)
	if err != nil {
		t.Fatal(err)
	}
	return sz
}

func roundTrip(t testing.TB, typ Type, x []float32) ([]byte, []float32) {
	t.Helper()
	b := make([]byte, mustRowSize(t, typ, len(x)))
	if err := Quantize(typ, x, b); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(x))
	if err := Dequantize(typ, b, y); err != nil {
		t.Fatal(err)
	}
	return b, y
}

func relRMSE(x, y []float32) float64 {
	var se, sx float64
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		se += d * d
		sx += float64(x[i]) * float64(x[i])
	}
	return math.Sqrt(se / sx)
}

func TestRoundTripNormal(t *testing.T) {
	for _, typ := range implemented {
		for _, scale := range []float64{1, 0.02, 300} {
			x := normals(uint64(typ)+1, 1<<16, scale)
			_, y := roundTrip(t, typ, x)
			got, bound := relRMSE(x, y), relRMSEBound[typ]
			t.Logf("%-5s scale %-5g relative RMSE %.5f (bound %.5f)", typ, scale, got, bound)
			if !(got <= bound) {
				t.Errorf("%s scale %g: relative RMSE %.5f above bound %.5f", typ, scale, got, bound)
			}
		}
	}
}

// ggmlTestData is llama.cpp's test-quantize-fns data: 0.1 + amp*cos(i + offset).
func ggmlTestData(offset float64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + 2*float64(float32(math.Cos(float64(float32(i)+float32(offset))))))
	}
	return x
}

// TestGGMLQuantizeFns applies llama.cpp's test-quantize-fns bounds: the
// "total quantization error" sqrt(sum err^2)/n and the dot-product error
// |dot - exact|/n on 4096 elements of cosine data.
func TestGGMLQuantizeFns(t *testing.T) {
	const n = 32 * 128
	x, y := ggmlTestData(0, n), ggmlTestData(1, n)
	for _, typ := range weightTypes() {
		maxQErr := 0.002
		switch typ {
		case Q2_K:
			maxQErr = 0.0075
		case Q3_K:
			maxQErr = 0.0040
		}
		maxDotErr := 0.02
		if typ == Q2_K {
			maxDotErr = 0.04
		}
		w, deq := roundTrip(t, typ, x)
		var se float64
		for i := range x {
			d := float64(x[i]) - float64(deq[i])
			se += d * d
		}
		qErr := math.Sqrt(se) / n

		a := make([]byte, mustRowSize(t, VecDotType(typ), n))
		if err := Quantize(VecDotType(typ), y, a); err != nil {
			t.Fatal(err)
		}
		var exact float64
		for i := range x {
			exact += float64(x[i] * y[i])
		}
		dotErr := math.Abs(float64(VecDot(typ, n, w, a))-exact) / n
		t.Logf("%-5s quantization error %.6f (bound %g), dot error %.6f (bound %g)", typ, qErr, maxQErr, dotErr, maxDotErr)
		if !(qErr < maxQErr) {
			t.Errorf("%s: quantization error %.6f, want < %g", typ, qErr, maxQErr)
		}
		if !(dotErr < maxDotErr) {
			t.Errorf("%s: dot product error %.6f, want < %g", typ, dotErr, maxDotErr)
		}
	}
}

// dequantDot is the dot product of the decoded weights and activations in
// float64, and the sum of the magnitudes of its terms.
func dequantDot(t testing.TB, typ Type, n int, w, a []byte) (dot, mag float64) {
	t.Helper()
	dw, da := make([]float32, n), make([]float32, n)
	if err := Dequantize(typ, w, dw); err != nil {
		t.Fatal(err)
	}
	if err := Dequantize(VecDotType(typ), a, da); err != nil {
		t.Fatal(err)
	}
	for i := range dw {
		p := float64(dw[i]) * float64(da[i])
		dot += p
		mag += math.Abs(p)
	}
	if VecDotType(typ) == Q8_1 {
		// Q4_1/Q5_1 apply their min m through the activation block's s field,
		// f16(d*sum(q)) rounded from the unrounded d, not through the decoded
		// activations: the dot differs from the decoded one by m*(s - d16*sum(q))
		// per block, which is part of the format.
		for i := 0; i < n/32; i++ {
			xb, yb := w[i*typ.BlockSize():], a[i*36:]
			var sum float64
			for _, q := range yb[4:36] {
				sum += float64(int8(q))
			}
			m := float64(half(xb[2:]))
			corr := m * (float64(half(yb[2:])) - float64(half(yb))*sum)
			dot += corr
			mag += math.Abs(corr)
		}
	}
	return dot, mag
}

// dotRelTol bounds |VecDot - dequantized dot| / sum|w_i a_i|: the integer
// sums are exact, so only float32 rounding of the per-block scaling and the
// accumulation remains (a few float32 ulps per block).
const dotRelTol = 1e-5

func TestVecDotMatchesDequantized(t *testing.T) {
	type dataset struct {
		name string
		w, a []float32
	}
	const n = 2048
	positive := normals(7, n, 1)
	for i := range positive {
		positive[i] = float32(math.Abs(float64(positive[i]))) + 0.5 // exercises the mins
	}
	sets := []dataset{
		{"normal", normals(1, n, 1), normals(2, n, 1)},
		{"scaled", normals(3, n, 0.01), normals(4, n, 40)},
		{"positive weights", positive, normals(5, n, 1)},
		{"cosine", ggmlTestData(0, n), ggmlTestData(1, n)},
	}
	for _, typ := range weightTypes() {
		for _, ds := range sets {
			w := make([]byte, mustRowSize(t, typ, n))
			a := make([]byte, mustRowSize(t, VecDotType(typ), n))
			if err := Quantize(typ, ds.w, w); err != nil {
				t.Fatal(err)
			}
			if err := Quantize(VecDotType(typ), ds.a, a); err != nil {
				t.Fatal(err)
			}
			got := VecDot(typ, n, w, a)
			want, mag := dequantDot(t, typ, n, w, a)
			tol := dotRelTol * mag
			if math.Abs(float64(got)-want) > tol {
				t.Errorf("%s x %s, %s: VecDot = %.7g, dequantized dot = %.7g, |diff| %.3g > tol %.3g",
					typ, VecDotType(typ), ds.name, got, want, math.Abs(float64(got)-want), tol)
			}
		}
	}
}

func TestVecDotType(t *testing.T) {
	got := map[Type]Type{}
	for _, typ := range implemented {
		got[typ] = VecDotType(typ)
	}
	want := map[Type]Type{
		F32: F32, F16: F16, BF16: BF16,
		Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0,
		Q4_1: Q8_1, Q5_1: Q8_1, Q8_1: Q8_1,
		Q2_K: Q8_K, Q3_K: Q8_K, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K, Q8_K: Q8_K,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VecDotType (-want +got):\n%s", diff)
	}
	if HasVecDot(Q8_1) || HasVecDot(Q8_K) || HasVecDot(IQ2_XXS) || !HasVecDot(Q4_K) {
		t.Errorf("HasVecDot: Q8_1 %v, Q8_K %v, IQ2_XXS %v, Q4_K %v; want false, false, false, true",
			HasVecDot(Q8_1), HasVecDot(Q8_K), HasVecDot(IQ2_XXS), HasVecDot(Q4_K))
	}
}

func TestZeros(t *testing.T) {
	const n = 512
	for _, typ := range implemented {
		b, y := roundTrip(t, typ, make([]float32, n))
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%s: zeros decoded to %g at %d", typ, v, i)
			}
		}
		if HasVecDot(typ) {
			a := make([]byte, mustRowSize(t, VecDotType(typ), n))
			if err := Quantize(VecDotType(typ), normals(9, n, 1), a); err != nil {
				t.Fatal(err)
			}
			if got := VecDot(typ, n, b, a); got != 0 {
				t.Errorf("%s: VecDot of zero weights = %g", typ, got)
			}
		}
	}
}

// The element of largest magnitude sets the scale of a block. In the
// symmetric formats it maps onto the end of the quant range (-nmax in Q4_0,
// Q5_0 and Q8_K, which keep its sign in the scale; ±127 in Q8_0/Q8_1), so it
// comes back with only the rounding of the stored scale, whichever its sign.
func TestMaxAbsElementExact(t *testing.T) {
	tests := []struct {
		typ    Type
		relTol float64 // relative error of the stored scale: 2^-11 for f16, float32 for Q8_K
	}{
		{Q4_0, 0x1p-11}, {Q5_0, 0x1p-11}, {Q8_0, 0x1p-11}, {Q8_1, 0x1p-11}, {Q8_K, 0x1p-23},
	}
	for _, tt := range tests {
		for _, peak := range []float32{-100, 100, -3.3e-3, 7e4} {
			x := normals(11, 512, float64(abs32(peak))/50)
			for _, at := range []int{0, 17, 31, 255} {
				x[at] = peak // the block of 32 (or 256) holding it has it as max-abs
			}
			_, y := roundTrip(t, tt.typ, x)
			for _, at := range []int{0, 17, 31, 255} {
				if rel := math.Abs(float64(y[at]-peak)) / float64(abs32(peak)); rel > tt.relTol {
					t.Errorf("%s: peak %g at %d decoded to %g (relative error %.3g > %.3g)", tt.typ, peak, at, y[at], rel, tt.relTol)
				}
			}
		}
	}
}

// Large but representable block scales: f16 scales reach 65504, so Q8_0
// holds magnitudes up to 127*65504 and the K-quants large values too.
func TestLargeValues(t *testing.T) {
	for _, typ := range implemented {
		scale := 1e6
		switch typ {
		case F16:
			scale = 1e4
		case Q4_0, Q5_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K:
			scale = 5e4 // block scales max/8..max/128 stay inside f16
		case Q4_1, Q5_1:
			scale = 1e4 // the min itself is stored as f16
		}
		x := normals(13, 1024, scale)
		_, y := roundTrip(t, typ, x)
		if got, bound := relRMSE(x, y), relRMSEBound[typ]*1.2; !(got <= bound) {
			t.Errorf("%s at scale %g: relative RMSE %.5f above %.5f", typ, scale, got, bound)
		}
	}
}

// Inf and NaN inputs must not panic; decoding arbitrary results is fine.
func TestNonFiniteInputs(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, typ := range implemented {
		for _, bad := range []float32{inf, -inf, nan, math.MaxFloat32} {
			x := normals(17, 512, 1)
			x[3], x[300] = bad, bad
			b, _ := roundTrip(t, typ, x)
			if HasVecDot(typ) {
				a := make([]byte, mustRowSize(t, VecDotType(typ), len(x)))
				if err := Quantize(VecDotType(typ), x, a); err != nil {
					t.Fatal(err)
				}
				_ = VecDot(typ, len(x), b, a)
			}
		}
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantSub string
	}{
		{"dequantize partial block", Dequantize(Q4_K, make([]byte, 144), make([]float32, 100)), "100 elements is not a whole number of Q4_K blocks of 256"},
		{"dequantize short source", Dequantize(Q8_0, make([]byte, 33), make([]float32, 32)), "32 Q8_0 elements take 34 bytes, got 33"},
		{"dequantize long source", Dequantize(F16, make([]byte, 10), make([]float32, 4)), "4 F16 elements take 8 bytes, got 10"},
		{"dequantize unknown type", Dequantize(Type(99), nil, nil), "unknown tensor type 99"},
		{"dequantize unimplemented type", Dequantize(IQ2_XXS, make([]byte, 66), make([]float32, 256)), "type IQ2_XXS is not implemented"},
		{"quantize partial block", Quantize(Q8_0, make([]float32, 40), make([]byte, 34)), "40 elements is not a whole number of Q8_0 blocks of 32"},
		{"quantize wrong destination", Quantize(Q6_K, make([]float32, 256), make([]byte, 200)), "256 Q6_K elements take 210 bytes, got 200"},
		{"quantize unimplemented type", Quantize(MXFP4, make([]float32, 32), make([]byte, 17)), "type MXFP4 is not implemented"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.wantSub) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, tt.err, tt.wantSub)
		}
	}
	if err := Dequantize(Q4_K, nil, nil); err != nil {
		t.Errorf("empty row: %v", err)
	}
	for _, typ := range implemented {
		if !Supported(typ) {
			t.Errorf("Supported(%s) = false", typ)
		}
	}
	if Supported(IQ4_NL) || Supported(Type(1000)) {
		t.Errorf("Supported(IQ4_NL or 1000) = true")
	}
}

func TestVecDotPanics(t *testing.T) {
	tests := []struct {
		name    string
		typ     Type
		n       int
		wantSub string
	}{
		{"activation-only type", Q8_K, 256, "no dot product for type Q8_K"},
		{"unknown type", Type(77), 32, "no dot product for type type(77)"},
		{"partial block", Q4_0, 48, "48 elements is not a whole number of Q4_0 blocks"},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.wantSub) {
					t.Errorf("%s: panic %q, want it to contain %q", tt.name, msg, tt.wantSub)
				}
			}()
			VecDot(tt.typ, tt.n, make([]byte, 1024), make([]byte, 1024))
		}()
	}
}

// The hot-path row functions must not allocate.
func TestRowFunctionsDoNotAllocate(t *testing.T) {
	const n = 1024
	x := normals(19, n, 1)
	for _, typ := range implemented {
		f := lookup(typ)
		b := make([]byte, mustRowSize(t, typ, n))
		y := make([]float32, n)
		a := make([]byte, mustRowSize(t, VecDotType(typ), n))
		allocs := testing.AllocsPerRun(5, func() {
			f.quant(x, b)
			f.dequant(b, y)
			if f.dot != nil {
				lookup(VecDotType(typ)).quant(x, a)
				f.dot(n, b, a)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per row", typ, allocs)
		}
	}
}
