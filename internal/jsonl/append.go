package jsonl

import (
	"bytes"
	"os"
	"sync"
)

// Appender writes lines to files from one goroutine, in batches: whatever
// has queued while the previous batch was being written and synced goes in
// one write and one fsync per file (group commit), so that a slow fsync
// does not hold back the writers.
type Appender struct {
	files []*os.File
	in    chan pending
	done  chan struct{}
	once  sync.Once

	mu  sync.Mutex
	err error
}

type pending struct {
	file int
	line []byte
}

// NewAppender starts an Appender to files (lines for files[i] are added
// with Add(i, line)). Close it to wait for the writes.
func NewAppender(files ...*os.File) *Appender {
	a := &Appender{files: files, in: make(chan pending, 1024), done: make(chan struct{})}
	go a.run()
	return a
}

// Add queues line (with its newline) for files[file]. It does not wait
// for the write.
func (a *Appender) Add(file int, line []byte) { a.in <- pending{file, line} }

// Err returns the first write error.
func (a *Appender) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *Appender) run() {
	defer close(a.done)
	bufs := make([]bytes.Buffer, len(a.files))
	for p := range a.in {
		bufs[p.file].Write(p.line)
	drain:
		for {
			select {
			case q, ok := <-a.in:
				if !ok {
					break drain
				}
				bufs[q.file].Write(q.line)
			default:
				break drain
			}
		}
		for i := range bufs {
			if bufs[i].Len() == 0 {
				continue
			}
			if a.Err() == nil {
				_, err := a.files[i].Write(bufs[i].Bytes())
				if err == nil {
					err = a.files[i].Sync()
				}
				if err != nil {
					a.mu.Lock()
					a.err = err
					a.mu.Unlock()
				}
			}
			bufs[i].Reset()
		}
	}
}

// Close waits for every queued line to be written and synced, and
// returns the first write error. The files stay open.
func (a *Appender) Close() error {
	a.once.Do(func() { close(a.in) })
	<-a.done
	return a.Err()
}
