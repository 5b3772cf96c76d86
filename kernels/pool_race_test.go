package kernels

import (
	"runtime"
	"sync/atomic"
	"testing"
)

type countTask struct{ sum atomic.Int64 }

func (c *countTask) Run(lo, hi int) { c.sum.Add(int64(hi - lo)) }

// Many back-to-back calls, with the caller yielding between publishing a
// call and waking the workers (where a preempted publisher once delivered
// stale wake-ups that made a worker count itself done twice, so later calls
// returned early or hung). Every call must cover its range exactly once.
func TestPoolManyCallsWithPreemption(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	var task countTask
	calls := 20000
	if testing.Short() {
		calls = 2000
	}
	for i := 0; i < calls; i++ {
		n := 1 + i%97
		task.sum.Store(0)
		p.Parallel(n, 1+i%5, &task)
		if got := task.sum.Load(); got != int64(n) {
			t.Fatalf("call %d: covered %d of %d indices", i, got, n)
		}
		if i%7 == 0 {
			runtime.Gosched()
		}
	}
}
