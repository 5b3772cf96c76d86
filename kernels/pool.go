package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Task is a unit of parallel work over an index range. Run is called with
// disjoint [lo, hi) chunks that together cover [0, n), from several
// goroutines at once.
type Task interface {
	Run(lo, hi int)
}

// Pool is a persistent set of worker goroutines that split a Task's index
// range between them and the calling goroutine. One Parallel call runs at a
// time; a Pool must not be used from two goroutines at once.
//
// The zero Pool is not usable; create one with NewPool.
type Pool struct {
	threads int
	wake    []chan struct{}
	done    sync.WaitGroup

	task  Task
	n     int
	grain int
	next  atomic.Int64

	mm matmulTask // reused by MatMul so that calls do not allocate
}

// NewPool starts a pool with the given number of threads (the caller counts
// as one). threads <= 0 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads}
	for i := 1; i < threads; i++ {
		ch := make(chan struct{})
		p.wake = append(p.wake, ch)
		go p.worker(ch)
	}
	return p
}

// Threads returns the number of threads that run tasks, the caller included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
}

func (p *Pool) worker(wake chan struct{}) {
	for range wake {
		p.work()
		p.done.Done()
	}
}

// Parallel runs t over [0, n) in chunks of grain indices and returns when all
// chunks are done.
func (p *Pool) Parallel(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if p.threads == 1 || n <= grain || len(p.wake) == 0 {
		t.Run(0, n)
		return
	}
	p.task, p.n, p.grain = t, n, grain
	p.next.Store(0)
	workers := min(len(p.wake), (n+grain-1)/grain-1)
	p.done.Add(workers)
	for _, ch := range p.wake[:workers] {
		ch <- struct{}{}
	}
	p.work()
	p.done.Wait()
	p.task = nil
}

func (p *Pool) work() {
	for {
		lo := int(p.next.Add(int64(p.grain))) - p.grain
		if lo >= p.n {
			return
		}
		p.task.Run(lo, min(lo+p.grain, p.n))
	}
}

// grainFor picks a chunk size for n rows so that each thread gets several
// chunks (for balance) but chunks stay large enough to amortize scheduling.
func (p *Pool) grainFor(n, minGrain int) int {
	g := n / (p.threads * 8)
	if g < minGrain {
		g = minGrain
	}
	return g
}
