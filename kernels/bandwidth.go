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

// newReadTask fills a buffer of size bytes (rounded down to whole MiB) and
// streams through it once on p, which also faults its pages in.
func (p *Pool) newReadTask(size int) *readTask {
	t := &readTask{buf: make([]byte, size/readChunk*readChunk)}
	for i := range t.buf {
		t.buf[i] = byte(i)
	}
	p.Parallel(len(t.buf)/readChunk, 1, t)
	return t
}

// ReadBandwidth measures the machine's memory read bandwidth in bytes per
// second: every thread of the pool streams through its share of a buffer of
// size bytes (rounded down to whole MiB; it should be much larger than the
// caches), reps times, after one warm-up pass that also faults the pages in.
// It reports the best pass.
func (p *Pool) ReadBandwidth(size, reps int) float64 {
	t := p.newReadTask(size)
	chunks := len(t.buf) / readChunk
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

// ReadBandwidthFor streams through a buffer of size bytes as ReadBandwidth
// does, pass after pass until d has passed (one pass at least), and reports
// the mean: the bytes read over the time taken. Measured right after a
// decode test and for as long as it ran, it sees the load that test saw on
// a shared machine, which a best pass of a fraction of a second does not.
func (p *Pool) ReadBandwidthFor(size int, d time.Duration) float64 {
	t := p.newReadTask(size)
	chunks := len(t.buf) / readChunk
	var n int
	start := time.Now()
	for n == 0 || time.Since(start) < d {
		p.Parallel(chunks, 1, t)
		n++
	}
	return float64(n*len(t.buf)) / time.Since(start).Seconds()
}
