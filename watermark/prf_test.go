package watermark

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"
)

func testKey(scheme Scheme, seed byte) Key {
	k := Key{ID: "test-" + string(rune('a'+seed%26)), Scheme: scheme, Secret: bytes.Repeat([]byte{seed, 0x5a}, 16), Context: 4}
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
}

// The construction is part of the key file format: a key must mark and
// detect the same way in every qilin version, so these values are pinned.
func TestWindowStable(t *testing.T) {
	w := newWindower(testKey(Gumbel, 1).Secret).window([]int{1, 2, 3, 4})
	got := []uint64{w.hash(0), w.hash(1), w.hash(151935)}
	want := []uint64{0x20991f97908efe80, 0x6f374995e3e4e6fc, 0xa2b4bca3be7c1c41}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("hash %d = %#x, want %#x (the watermark construction changed: old keys would no longer detect)", i, got[i], want[i])
		}
	}
}

// window is the HMAC-SHA256 of the domain and the ids as 4-byte little-endian
// words, read as four little-endian 64-bit words.
func TestWindowIsHMAC(t *testing.T) {
	k := testKey(Gumbel, 5)
	ctx := []int{3, 0, 151935, 1 << 20}
	msg := []byte(domain)
	for _, id := range ctx {
		msg = append(msg, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
	}
	mac := hmac.New(sha256.New, k.Secret)
	mac.Write(msg)
	sum := mac.Sum(nil)
	want := Window{binary.LittleEndian.Uint64(sum), binary.LittleEndian.Uint64(sum[8:]), binary.LittleEndian.Uint64(sum[16:]), binary.LittleEndian.Uint64(sum[24:])}
	if got := newWindower(k.Secret).window(ctx); got != want {
		t.Errorf("window = %x, want %x", got, want)
	}
}

func TestWindowUnit(t *testing.T) {
	win := newWindower(testKey(Gumbel, 2).Secret)
	const bins, n = 64, 1 << 16
	var counts [bins]int
	for c := range 16 {
		w := win.window([]int{c, 7})
		for id := range n / 16 {
			u, v := w.U(id), w.V(id)
			if !(u > 0 && u < 1) || u+v != 1 {
				t.Fatalf("window %d id %d: u %v, v %v: want 0 < u < 1 and u + v = 1 exactly", c, id, u, v)
			}
			counts[int(u*bins)]++
		}
	}
	// Chi-square with 63 degrees of freedom: mean 63, sd 11.2; fail beyond
	// 6 sd (p < 1e-6 for a uniform source).
	var chi2 float64
	e := float64(n) / bins
	for _, c := range counts {
		chi2 += (float64(c) - e) * (float64(c) - e) / e
	}
	t.Logf("chi-square over %d bins: %.1f (fail above 130)", bins, chi2)
	if chi2 > 130 {
		t.Errorf("u is not uniform: chi-square %.1f over %d bins", chi2, bins)
	}
}

// Neighbouring ids and neighbouring windows must give unrelated numbers.
func TestWindowIndependence(t *testing.T) {
	win := newWindower(testKey(Gumbel, 3).Secret)
	const n = 1 << 15
	var sxy, sx, sy, sxw float64
	w1, w2 := win.window([]int{10, 11, 12, 13}), win.window([]int{10, 11, 12, 14})
	for id := range n {
		x, y, z := w1.U(id), w1.U(id+1), w2.U(id)
		sx += x
		sy += y
		sxy += x * y
		sxw += x * z
	}
	// Each correlation of uniforms has sd 1/sqrt(n) ≈ 0.0055 when independent.
	corr := func(sxy float64) float64 { return (sxy/n - 0.25) * 12 }
	for name, c := range map[string]float64{"id, id+1": corr(sxy), "window, neighbouring window": corr(sxw)} {
		t.Logf("correlation of %s: %.4f (fail beyond 0.033)", name, c)
		if math.Abs(c) > 0.033 {
			t.Errorf("correlation of %s: %.4f", name, c)
		}
	}
}

func TestWindowAllocs(t *testing.T) {
	win := newWindower(testKey(Gumbel, 4).Secret)
	ctx := []int{1, 2, 3, 4}
	if a := testing.AllocsPerRun(100, func() { win.window(ctx) }); a != 0 {
		t.Errorf("window allocates %v times, want 0", a)
	}
}
