package server

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// BenchmarkServeSoak keeps 8 concurrent streams going for $QILIN_SOAK
// (default 10m) and samples the heap after every round, to show that memory
// stays flat under sustained load. Run it with
//
//	QILIN_SOAK=10m go test ./server -run '^$' -bench ServeSoak -benchtime 1x -timeout 40m -v
//
// Reported: rounds, total decode tokens/s, and the heap in use after the
// first round and its largest and last values (MiB, after a GC).
func BenchmarkServeSoak(b *testing.B) {
	d := 10 * time.Minute
	if s := os.Getenv("QILIN_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			b.Fatalf("QILIN_SOAK: %v", err)
		}
	}
	ts := benchServer(b, 8)

	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	for range b.N {
		start := time.Now()
		var first, peak, last, tps float64
		rounds := 0
		for time.Since(start) < d {
			r := benchStreams(b, ts.URL, 8, 64)
			tps += r.tps
			rounds++
			last = heap()
			if rounds == 1 {
				first = last
			}
			peak = max(peak, last)
			if rounds%10 == 0 {
				b.Logf("%v: %d rounds, heap %.1f MiB", time.Since(start).Round(time.Second), rounds, last)
			}
		}
		b.ReportMetric(float64(rounds), "rounds")
		b.ReportMetric(tps/float64(rounds), "tok/s")
		b.ReportMetric(first, "MiB-heap-first")
		b.ReportMetric(peak, "MiB-heap-peak")
		b.ReportMetric(last, "MiB-heap-last")
	}
}
