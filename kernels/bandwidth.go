package kernels

import (
	"encoding/binary"
	"time"
)

// readBytesGo xors b as 64-bit words in four independent chains.
func readBytesGo(b []byte) uint64 {
	var x0, x1, x2, x3 uint64
	for i := 0; i+32 <= len(b); i += 32 {
		x0 ^= binary.LittleEndian.Uint64(b[i:])
		x1 ^= binary.LittleEndian.Uint64(b[i+8:])
		x2 ^= binary.LittleEndian.Uint64(b[i+16:])
		x3 ^= binary.LittleEndian.Uint64(b[i+24:])
	}
	return x0 ^ x1 ^ x2 ^ x3
}

// readTask reads its share of a buffer in chunks.
type readTask struct {
	buf  []byte
	sink [64]uint64 // one slot per chunk index mod 64, written to defeat dead-code removal
}

const readChunk = 1 << 20

func (t *readTask) Run(lo, hi int) {
	for c := lo; c < hi; c++ {
		t.sink[c%64] ^= readBytes(t.buf[c*readChunk : (c+1)*readChunk])
	}
}

// ReadBandwidth measures the machine's memory read bandwidth in bytes per
// second: every thread of the pool streams through its share of a buffer of
// size bytes (rounded down to whole MiB; it should be much larger than the
// caches), reps times, after one warm-up pass that also faults the pages in.
// It reports the best pass.
func (p *Pool) ReadBandwidth(size, reps int) float64 {
	t := &readTask{buf: make([]byte, size/readChunk*readChunk)}
	for i := range t.buf {
		t.buf[i] = byte(i)
	}
	chunks := len(t.buf) / readChunk
	p.Parallel(chunks, 1, t)
	best := 0.0
	for r := 0; r < reps; r++ {
		start := time.Now()
		p.Parallel(chunks, 1, t)
		if bw := float64(len(t.buf)) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	return best
}
