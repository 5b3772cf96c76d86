package quant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Known-answer tests: blocks written byte by byte from the layouts, with the
// values they must decode to worked out by hand.

func TestKnownQ8_0(t *testing.T) {
	// d = 0x3800 = 0.5; qs = 1, -1, 127, -128, then j-16 for j = 4..31.
	b := []byte{0x00, 0x38, 0x01, 0xff, 0x7f, 0x80}
	want := []float32{0.5, -0.5, 63.5, -64}
	for j := 4; j < 32; j++ {
		b = append(b, byte(int8(j-16)))
		want = append(want, float32(j-16)/2)
	}
	got := make([]float32, 32)
	if err := Dequantize(Q8_0, b, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}

	// Quantize: max|x| = 127 gives d = 1 (0x3c00) and id = 1, so the quants
	// are roundf(x): halves go away from zero (0.5 -> 1, 2.5 -> 3, -2.5 -> -3).
	x := make([]float32, 32)
	copy(x, []float32{127, -127, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49, 100.5})
	wantB := make([]byte, 34)
	copy(wantB, []byte{0x00, 0x3c, 127, 0x81, 1, 0xff, 2, 3, 0xfd, 0, 101})
	gotB := make([]byte, 34)
	if err := Quantize(Q8_0, x, gotB); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantB, gotB); diff != "" {
		t.Errorf("quantize (-want +got):\n%s", diff)
	}

	// Dot with itself: 2*127^2 + 1+1+4+9+9+0 + 101^2 = 42483, times d*d = 1.
	if got := VecDot(Q8_0, 32, gotB, gotB); got != 42483 {
		t.Errorf("VecDot = %g, want 42483", got)
	}
}

func TestKnownQ4_0(t *testing.T) {
	// d = 0x4000 = 2; qs[j] = j | (15-j)<<4: element j = (j-8)*2 and
	// element j+16 = (15-j-8)*2.
	b := []byte{0x00, 0x40}
	want := make([]float32, 32)
	for j := 0; j < 16; j++ {
		b = append(b, byte(j)|byte(15-j)<<4)
		want[j] = float32(j-8) * 2
		want[j+16] = float32(7-j) * 2
	}
	got := make([]float32, 32)
	if err := Dequantize(Q4_0, b, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}

	// Quantize: max-abs element -16 gives d = -16/-8 = 2, id = 0.5 and
	// quants trunc(x/2 + 8.5) capped at 15: -16 -> 0, 14 -> 15, 0 -> 8,
	// 1 -> 9, 3 -> 10, -1 -> 8, 15.9 -> 15 (16.45 capped), -15 -> 1.
	x := make([]float32, 32)
	copy(x, []float32{-16, 14, 0, 1, 3, -1})
	x[16], x[17] = 15.9, -15
	// every other element is 0 -> 8
	wantB := []byte{0x00, 0x40}
	q := []byte{0, 15, 8, 9, 10, 8}
	for j := 0; j < 16; j++ {
		lo, hi := byte(8), byte(8)
		if j < len(q) {
			lo = q[j]
		}
		switch j {
		case 0:
			hi = 15
		case 1:
			hi = 1
		}
		wantB = append(wantB, lo|hi<<4)
	}
	gotB := make([]byte, 18)
	if err := Quantize(Q4_0, x, gotB); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantB, gotB); diff != "" {
		t.Errorf("quantize (-want +got):\n%s", diff)
	}
}

// q4KTestBlock is a Q4_K block with d = 1, dmin = 0.5, sub-block scales
// sc and mins m as below, and quants k%16 in the even sub-blocks and
// 15 - k%16 in the odd ones.
var (
	q4KTestSc = [8]float32{1, 2, 3, 4, 17, 33, 50, 63}
	q4KTestM  = [8]float32{0, 1, 2, 3, 16, 32, 48, 63}
)

func q4KTestBlock() []byte {
	b := []byte{
		0x00, 0x3c, // d = 1
		0x00, 0x38, // dmin = 0.5
		// scales[0..3] = sc[j] | (sc[j+4]>>4)<<6: 1|1<<6, 2|2<<6, 3|3<<6, 4|3<<6
		0x41, 0x82, 0xc3, 0xc4,
		// scales[4..7] = m[j] | (m[j+4]>>4)<<6: 0|1<<6, 1|2<<6, 2|3<<6, 3|3<<6
		0x40, 0x81, 0xc2, 0xc3,
		// scales[8..11] = (sc[j+4]&0xF) | (m[j+4]&0xF)<<4: 17,16 -> 0x01; 33,32 -> 0x01; 50,48 -> 0x02; 63,63 -> 0xff
		0x01, 0x01, 0x02, 0xff,
	}
	for p := 0; p < 4; p++ {
		for k := 0; k < 32; k++ {
			b = append(b, byte(k%16)|byte(15-k%16)<<4)
		}
	}
	return b
}

func TestKnownQ4_K(t *testing.T) {
	b := q4KTestBlock()
	if len(b) != 144 {
		t.Fatalf("test block is %d bytes", len(b))
	}
	want := make([]float32, 256)
	for j := 0; j < 8; j++ {
		for k := 0; k < 32; k++ {
			q := float32(k % 16)
			if j%2 == 1 {
				q = float32(15 - k%16)
			}
			want[32*j+k] = 1*q4KTestSc[j]*q - 0.5*q4KTestM[j]
		}
	}
	got := make([]float32, 256)
	if err := Dequantize(Q4_K, b, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}

	// Dot with activations all 1 (Q8_K d = 1, qs = 1, bsums = 16) is the sum
	// of the elements, exact in float32 here.
	a := make([]byte, 292)
	a[2], a[3] = 0x80, 0x3f // float32 1.0 little-endian: 00 00 80 3f
	for j := 0; j < 256; j++ {
		a[4+j] = 1
	}
	for g := 0; g < 16; g++ {
		a[260+2*g] = 16
	}
	var sum float32
	for _, v := range want {
		sum += v
	}
	if got := VecDot(Q4_K, 256, b, a); got != sum {
		t.Errorf("VecDot with ones = %g, want %g", got, sum)
	}
}

func TestKnownQ8_K(t *testing.T) {
	// max-abs element -254: iscale = -127/-254 = 0.5, d = 2, and
	// nearest_int ties to even: 3*0.5 = 1.5 -> 2, 5*0.5 = 2.5 -> 2,
	// 0.5 -> 0, -0.5 -> 0, 253*0.5 = 126.5 -> 126.
	x := make([]float32, 256)
	copy(x, []float32{-254, 3, 5, 1, -1, 253})
	x[20] = 7 // 3.5 -> 4, in group 1
	want := make([]byte, 292)
	copy(want, []byte{0x00, 0x00, 0x00, 0x40}) // d = 2.0
	copy(want[4:], []byte{0x81, 2, 2, 0, 0, 126})
	want[4+20] = 4
	want[260], want[262] = 3, 4 // bsums: -127+2+2+126 = 3; 4
	got := make([]byte, 292)
	if err := Quantize(Q8_K, x, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quantize, negative max (-want +got):\n%s", diff)
	}

	// A positive max flips the signs: iscale = -0.5, d = -2, quants
	// -127, -2, -2, 0, 0, -126 and -4 (group sums -257 and -4).
	x[0] = 254
	copy(want, []byte{0x00, 0x00, 0x00, 0xc0})
	copy(want[4:], []byte{0x81, 0xfe, 0xfe, 0, 0, 0x82})
	want[4+20] = 0xfc
	want[260], want[261], want[262], want[263] = 0xff, 0xfe, 0xfc, 0xff // -257, -4
	if err := Quantize(Q8_K, x, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quantize, positive max (-want +got):\n%s", diff)
	}
	y := make([]float32, 256)
	if err := Dequantize(Q8_K, got, y); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{254, 4, 4, 0, 0, 252}, y[:6]); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}
}

func TestKnownQ5_0(t *testing.T) {
	// d = 0x3c00 = 1; qh = 0x80000001 sets the 5th bit of elements 0 and 31;
	// qs[j] = 0x21: low nibble 1, high nibble 2.
	// element 0: (1|16)-16 = 1; elements 1..15: 1-16 = -15;
	// elements 16..30: 2-16 = -14; element 31: (2|16)-16 = 2.
	b := []byte{0x00, 0x3c, 0x01, 0x00, 0x00, 0x80}
	for j := 0; j < 16; j++ {
		b = append(b, 0x21)
	}
	want := make([]float32, 32)
	for j := range want {
		switch {
		case j == 0:
			want[j] = 1
		case j < 16:
			want[j] = -15
		case j < 31:
			want[j] = -14
		default:
			want[j] = 2
		}
	}
	got := make([]float32, 32)
	if err := Dequantize(Q5_0, b, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}
}

func TestKnownQ6_K(t *testing.T) {
	// d = 0.25, scales[g] = g-8 (signed), quants all 6-bit 0b10_0101 = 37
	// (value 37-32 = 5): ql bytes 0x55, qh bytes 0b10101010.
	b := make([]byte, 210)
	for i := 0; i < 128; i++ {
		b[i] = 0x55
	}
	for i := 128; i < 192; i++ {
		b[i] = 0xaa
	}
	for g := 0; g < 16; g++ {
		b[192+g] = byte(int8(g - 8))
	}
	b[208], b[209] = 0x00, 0x34 // 0.25
	got := make([]float32, 256)
	if err := Dequantize(Q6_K, b, got); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 256)
	for e := range want {
		want[e] = 0.25 * float32(e/16-8) * 5
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dequantize (-want +got):\n%s", diff)
	}
}
