package kernels

import (
	"runtime"
	"sync/atomic"
)

// Task is a unit of parallel work over an index range. Run is called with
// disjoint [lo, hi) chunks that together cover [0, n), from several
// goroutines at once.
type Task interface {
	Run(lo, hi int)
}

// spinBudget is how many polls a worker (or the caller waiting for workers)
// makes before it blocks. Decode issues a few hundred small parallel calls
// per token, microseconds apart; a worker that is still spinning when the
// next one starts picks it up without the cost of a wake-up.
const spinBudget = 1 << 14

// Pool is a persistent set of worker goroutines that split a Task's index
// range between them and the calling goroutine. One Parallel call runs at a
// time; a Pool must not be used from two goroutines at once. Workers spin
// briefly after each call before they sleep, so that back-to-back calls
// start without a wake-up; a Parallel call allocates nothing.
//
// The zero Pool is not usable; create one with NewPool.
type Pool struct {
	threads int
	ks      *kernelSet
	workers []*worker

	// The current call: the task, its size and chunk, and the next chunk.
	task    Task
	n       int
	grain   int
	next    atomic.Int64
	gen     atomic.Uint64 // bumped for each call that uses the workers
	pending atomic.Int32  // workers that have not finished the call
	closed  atomic.Bool
	done    chan struct{} // the last worker to finish signals a sleeping caller
	waiting atomic.Bool   // the caller sleeps on done

	mm   matmulTask   // reused by MatMul so that calls do not allocate
	qt   quantizeTask // likewise for activation quantization
	mv   matVecsTask  // likewise for MatVecs
	gemm gemmTask     // likewise for Gemm, with one packing buffer per thread

	// tileBufs holds one buffer per thread for the weights a batched MatMul
	// repacks; each grows to the largest chunk seen.
	tileBufs chan []byte
}

type worker struct {
	wake     chan struct{}
	sleeping atomic.Bool
}

// NewPool starts a pool with the given number of threads (the caller counts
// as one). threads <= 0 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, ks: active, done: make(chan struct{}, 1), tileBufs: make(chan []byte, threads)}
	for i := 0; i < threads; i++ {
		p.tileBufs <- nil
	}
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w)
	}
	return p
}

// Threads returns the number of threads that run tasks, the caller included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.gen.Add(1)
	for _, w := range p.workers {
		w.wakeUp()
	}
}

func (w *worker) wakeUp() {
	if w.sleeping.CompareAndSwap(true, false) {
		w.wake <- struct{}{}
	}
}

// loop runs calls as they are published: it polls gen for a while, then
// marks itself sleeping and blocks until a call wakes it. It runs a call only
// after seeing gen change, so a late wake-up never makes it run twice.
func (p *Pool) loop(w *worker) {
	var seen uint64 // gen is 0 when the pool starts, whenever this goroutine runs
	for {
		for i := 0; p.gen.Load() == seen; i++ {
			if i < spinBudget {
				if i&63 == 63 {
					runtime.Gosched()
				}
				continue
			}
			w.sleeping.Store(true)
			if p.gen.Load() != seen {
				// A call was published meanwhile: take it, unless its
				// publisher already saw us sleeping and sent a wake-up.
				if !w.sleeping.CompareAndSwap(true, false) {
					<-w.wake
				}
				break
			}
			<-w.wake
			// Re-check gen: a publisher that was preempted between bumping
			// gen and waking us may deliver its wake-up after we already
			// ran its call and went back to sleep; such a stale wake-up
			// leaves gen unchanged, and we wait again instead of running
			// (and counting ourselves done for) a call that is not there.
			i = 0
		}
		seen = p.gen.Load()
		if p.closed.Load() {
			return
		}
		p.work()
		if p.pending.Add(-1) == 0 && p.waiting.Load() {
			select {
			case p.done <- struct{}{}:
			default:
			}
		}
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
	if len(p.workers) == 0 || n <= grain {
		t.Run(0, n)
		return
	}
	p.task, p.n, p.grain = t, n, grain
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	p.gen.Add(1)
	for _, w := range p.workers {
		w.wakeUp()
	}
	p.work()
	for i := 0; i < spinBudget && p.pending.Load() != 0; i++ {
		if i&63 == 63 {
			runtime.Gosched()
		}
	}
	// Still running: sleep until the last worker signals. A signal left
	// over from an earlier call only costs one more check.
	for p.pending.Load() != 0 {
		p.waiting.Store(true)
		if p.pending.Load() != 0 {
			<-p.done
		}
		p.waiting.Store(false)
	}
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
