package remote_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qilin-ai/qilin/remote"
)

// start is one request as a limited client made it.
type start struct {
	at     time.Duration // from the test's beginning
	tokens int           // used
}

// runLimited makes n requests from workers goroutines through l; request i
// reserves reserve(i) tokens, takes latency(i) and uses used(i). It runs in
// a synctest bubble, so times are exact.
func runLimited(t *testing.T, l *remote.Limiter, n, workers int, reserve, used func(int) int, latency func(int) time.Duration) []start {
	var mu sync.Mutex
	var out []start
	next := 0
	begin := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				r, err := l.Wait(context.Background(), reserve(i))
				if err != nil {
					t.Error(err)
					return
				}
				at := time.Since(begin)
				time.Sleep(latency(i))
				r.Settle(used(i))
				mu.Lock()
				out = append(out, start{at, used(i)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// checkWindows fails when some 60 s window [s, s+60s) holds more than rpm
// starts or tpm tokens (0: unchecked).
func checkWindows(t *testing.T, starts []start, rpm, tpm int) {
	t.Helper()
	for _, a := range starts {
		n, tok := 0, 0
		for _, b := range starts {
			if b.at >= a.at && b.at < a.at+time.Minute {
				n++
				tok += b.tokens
			}
		}
		if rpm > 0 && n > rpm {
			t.Errorf("the minute from %v holds %d starts, more than %d", a.at, n, rpm)
			return
		}
		if tpm > 0 && tok > tpm {
			t.Errorf("the minute from %v holds %d tokens, more than %d", a.at, tok, tpm)
			return
		}
	}
}

func TestLimiterRPMEven(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := remote.NewLimiter(60, 0)
		fixed := func(int) int { return 100 }
		starts := runLimited(t, l, 150, 8, fixed, fixed, func(i int) time.Duration { return time.Duration(i%7) * 900 * time.Millisecond })
		seen := map[time.Duration]bool{}
		for _, s := range starts {
			seen[s.at] = true
		}
		// 60 rpm: one request a second, exactly, never two together.
		for i := range 150 {
			if !seen[time.Duration(i)*time.Second] {
				t.Fatalf("no request started at %ds; starts %v", i, starts)
			}
		}
		checkWindows(t, starts, 60, 0)
		t.Logf("150 requests at 60 rpm by 8 workers: one start each second from 0s to 149s")
	})
}

func TestLimiterTPMExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tpm = 6000
		rng := rand.New(rand.NewPCG(1, 2))
		usedTok := make([]int, 400)
		lat := make([]time.Duration, 400)
		for i := range usedTok {
			usedTok[i] = 20 + rng.IntN(180)
			lat[i] = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		l := remote.NewLimiter(0, tpm)
		begin := time.Now()
		starts := runLimited(t, l, len(usedTok), 6, func(int) int { return 200 }, func(i int) int { return usedTok[i] },
			func(i int) time.Duration { return lat[i] })
		elapsed := time.Since(begin)
		checkWindows(t, starts, 0, tpm)
		total := 0
		for _, u := range usedTok {
			total += u
		}
		rate := float64(total) / elapsed.Minutes()
		t.Logf("%d tokens in %v: %.0f tokens/min against a limit of %d (reservations of 200 for uses of 20-199)", total, elapsed, rate, tpm)
		// Unused reservations are given back, so the rate stays near the
		// limit rather than at the 110/200 that reserving alone allows.
		if rate < 0.9*tpm {
			t.Errorf("%.0f tokens/min: the limiter wastes more than 10%% of the limit", rate)
		}
	})
}

func TestLimiterTPMEven(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 6000 tpm is 100 tokens a second: requests of 100 tokens start one
		// second apart, even with more reserved than used.
		l := remote.NewLimiter(0, 6000)
		starts := runLimited(t, l, 30, 1, func(int) int { return 250 }, func(int) int { return 100 }, func(int) time.Duration { return 0 })
		for i, s := range starts {
			if s.at != time.Duration(i)*time.Second {
				t.Fatalf("request %d started at %v, want %ds", i, s.at, i)
			}
		}
	})
}

func TestLimiterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := remote.NewLimiter(1, 0)
		if _, err := l.Wait(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := l.Wait(ctx, 1); err == nil {
			t.Error("Wait outlived its context")
		}
		var nilL *remote.Limiter
		if r, err := nilL.Wait(context.Background(), 5); err != nil || r == nil {
			t.Errorf("nil limiter: %v", err)
		}
	})
}
