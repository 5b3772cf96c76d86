package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/qilin-ai/qilin/sample"
)

// Event is one step of a stream: a generated token, or (Token < 0) the
// text still held back when the stream ends.
type Event struct {
	Token int    // generated token id; -1 for a final text-only event
	Text  string // output text released with this token (may be "" or span several tokens)
	// Logprob and Top are set when the request asked for logprobs (see
	// Request.Logprobs).
	Logprob float32
	Top     []sample.TokenLogprob
	// Forced says the token was not sampled: a Processor forced it (a spent
	// reasoning budget's close, a script).
	Forced bool
}

// Result is how a stream ended.
type Result struct {
	Reason           StopReason
	StopString       string // the stop string that matched, for StopString
	PromptTokens     int
	CachedTokens     int // prompt tokens whose keys and values were reused
	CompletionTokens int
	// ReasoningTokens counts the completion tokens of the reasoning block,
	// its tags included (0 without Request.Reasoning).
	ReasoningTokens int
	Err             error         // a Processor's error, or a broken invariant; Reason is then ""
	Queued          time.Duration // time waiting for a slot
	FirstToken      time.Duration // from Submit to the first token
}

// Stream delivers a request's events in order. The scheduler never waits
// for the reader: events queue up in the stream until Recv takes them.
type Stream struct {
	mu     sync.Mutex
	q      []Event
	head   int
	done   bool
	res    Result
	ready  chan struct{} // signalled when q grows or the stream ends
	cancel context.CancelFunc
}

func newStream(cancel context.CancelFunc) *Stream {
	return &Stream{ready: make(chan struct{}, 1), cancel: cancel}
}

// Recv returns the next event, waiting for it; ok is false once the stream
// has ended and every event was read (see Result).
func (st *Stream) Recv() (ev Event, ok bool) {
	for {
		st.mu.Lock()
		if st.head < len(st.q) {
			ev = st.q[st.head]
			st.q[st.head] = Event{}
			st.head++
			if st.head == len(st.q) {
				st.q, st.head = st.q[:0], 0
			}
			st.mu.Unlock()
			return ev, true
		}
		done := st.done
		st.mu.Unlock()
		if done {
			return Event{}, false
		}
		<-st.ready
	}
}

// Result returns how the stream ended; it is complete once Recv has
// returned false.
func (st *Stream) Result() Result {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.res
}

// Cancel stops the request; its slot is freed before the next step.
func (st *Stream) Cancel() { st.cancel() }

// Output is a whole generation, as Collect gathers it.
type Output struct {
	Tokens []int  // generated tokens, forced ones included
	Text   string // their text, up to a matched stop string
	Result
}

// Collect reads the stream to its end.
func (st *Stream) Collect() Output {
	var out Output
	var sb strings.Builder
	for ev, ok := st.Recv(); ok; ev, ok = st.Recv() {
		if ev.Token >= 0 {
			out.Tokens = append(out.Tokens, ev.Token)
		}
		sb.WriteString(ev.Text)
	}
	out.Text, out.Result = sb.String(), st.Result()
	return out
}

func (st *Stream) push(ev Event) {
	st.mu.Lock()
	st.q = append(st.q, ev)
	st.mu.Unlock()
	st.signal()
}

func (st *Stream) finish(res Result) {
	st.mu.Lock()
	st.done = true
	st.res = res
	st.mu.Unlock()
	st.signal()
	st.cancel()
}

func (st *Stream) signal() {
	select {
	case st.ready <- struct{}{}:
	default:
	}
}
