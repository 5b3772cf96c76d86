package watermark

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/bits"
)

// domain separates the watermark's use of a secret from any other.
const domain = "qilin watermark v1\x00"

// Window is the keyed randomness of one context window: the 256-bit
// HMAC-SHA256 of the window's tokens under the key's secret. It gives every
// token id its own uniform number u, computed on demand (random access), so
// that detection scores a token with one hash and generation hashes only
// the candidates the sampler kept.
//
// Why not a ChaCha8 stream per window: a stream is read in order, so the u of
// token id i costs i draws (5.7 ns each measured here), which is 0.9 ms a
// step over a 150k vocabulary and as much per detected token. The window's
// HMAC is the cryptographic step (an unknown secret makes every window's
// key unpredictable); from it, two rounds of a 128-bit multiply-and-fold
// keyed by the four 64-bit words give each id its number in about 2 ns.
// Nobody sees u itself, only tokens drawn with its help.
type Window struct{ k0, k1, k2, k3 uint64 }

// hash mixes id with the window's key: two wyhash-style rounds.
func (w Window) hash(id int) uint64 {
	hi, lo := bits.Mul64(uint64(id)^w.k0, w.k1)
	hi, lo = bits.Mul64((hi^lo)^w.k2, w.k3)
	return hi ^ lo
}

// unit is 2^-53: U and V are (2m+1)·2^-53 for m in [0, 2^52), exactly
// representable, never 0 or 1, and V = 1-U without rounding.
const unit = 0x1p-53

// U returns the token's uniform number in (0, 1).
func (w Window) U(id int) float64 { return float64(int64(2*(w.hash(id)>>12)+1)) * unit }

// V returns 1-U(id) exactly, so that -ln(1-u) keeps its precision as u
// approaches 1.
func (w Window) V(id int) float64 { return float64(int64(1<<53-2*(w.hash(id)>>12)-1)) * unit }

// Green reports whether id is on the window's green list of fraction gamma:
// U(id) < gamma.
func (w Window) Green(id int, gamma float64) bool { return w.hash(id)>>12 < greenLimit(gamma) }

// windower derives Windows for one secret. It reuses one HMAC state and
// buffer, so it is not safe for concurrent use and allocates nothing per
// window.
type windower struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func newWindower(secret []byte) *windower {
	return &windower{mac: hmac.New(sha256.New, secret), buf: make([]byte, 0, len(domain)+4*MaxContext)}
}

// window returns the Window of the context tokens ctx (oldest first): the
// HMAC-SHA256 of domain followed by each id as 4 little-endian bytes.
func (w *windower) window(ctx []int) Window { return w.window2(nil, ctx) }

// window2 is window of the tokens of a followed by those of b.
func (w *windower) window2(a, b []int) Window {
	buf := append(w.buf[:0], domain...)
	for _, t := range a {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(t))
	}
	for _, t := range b {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(t))
	}
	b2 := buf
	w.buf = b2
	w.mac.Reset()
	w.mac.Write(b2)
	s := w.mac.Sum(w.sum[:0])
	return Window{
		binary.LittleEndian.Uint64(s[0:]), binary.LittleEndian.Uint64(s[8:]),
		binary.LittleEndian.Uint64(s[16:]), binary.LittleEndian.Uint64(s[24:]),
	}
}
