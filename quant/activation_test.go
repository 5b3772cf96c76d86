package quant

import "testing"

// The activation quantizers round half to even, as ggml-cpu's vectorized
// quantize_row_q8_0/q8_1 do; the reference quantizers round half away from
// zero. With amax = 127 the scale is exactly 1, so x.5 values are ties.
func TestActivationRoundingHalfEven(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3] = 127, 2.5, -2.5, 3.5
	for _, tc := range []struct {
		typ       Type
		act, ref  func([]float32, []byte)
		qsOffset  int
		wantAct   [3]int8
		wantRef   [3]int8
		blockSize int
	}{
		{Q8_0, QuantizeActRowQ8_0, QuantizeRowQ8_0, 2, [3]int8{2, -2, 4}, [3]int8{3, -3, 4}, 34},
		{Q8_1, QuantizeActRowQ8_1, QuantizeRowQ8_1, 4, [3]int8{2, -2, 4}, [3]int8{3, -3, 4}, 36},
	} {
		a, r := make([]byte, tc.blockSize), make([]byte, tc.blockSize)
		tc.act(x, a)
		tc.ref(x, r)
		for j := 0; j < 3; j++ {
			if got := int8(a[tc.qsOffset+1+j]); got != tc.wantAct[j] {
				t.Errorf("%s activation quant of %v = %d, want %d", tc.typ, x[1+j], got, tc.wantAct[j])
			}
			if got := int8(r[tc.qsOffset+1+j]); got != tc.wantRef[j] {
				t.Errorf("%s reference quant of %v = %d, want %d", tc.typ, x[1+j], got, tc.wantRef[j])
			}
		}
		buf := make([]byte, tc.blockSize)
		if err := QuantizeActivations(tc.typ, x, buf); err != nil || string(buf) != string(a) {
			t.Errorf("QuantizeActivations(%s) = %v, differs from the row function", tc.typ, err)
		}
	}
}
