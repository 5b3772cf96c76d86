package distill

import (
	"bytes"
	"os"
	"sync"
)

// appender writes lines to files from one goroutine, in batches: whatever
// has queued while the previous batch was being written and synced goes in
// one write and one fsync per file (group commit), so that a slow fsync
// does not hold back the collection.
type appender struct {
	files [2]*os.File
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

func newAppender(files [2]*os.File) *appender {
	a := &appender{files: files, in: make(chan pending, 1024), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *appender) add(file int, line []byte) { a.in <- pending{file, line} }

// Err returns the first write error.
func (a *appender) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *appender) run() {
	defer close(a.done)
	var bufs [2]bytes.Buffer
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

// close waits for every queued line to be written and synced.
func (a *appender) close() error {
	a.once.Do(func() { close(a.in) })
	<-a.done
	return a.Err()
}
