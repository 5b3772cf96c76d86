package remote

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter paces requests to stay within per-minute limits on requests
// (RPM) and tokens (TPM) exactly and evenly, as providers enforce them over
// windows shorter than a minute.
//
// Even: request starts are spaced by 60s/RPM, and by the request's tokens
// × 60s/TPM (generic cell rate algorithm, no burst): 60 RPM is one request
// a second, not 60 at once. Exact: no 60-second window ever holds more than
// RPM starts, nor requests whose tokens sum to more than TPM. A request's
// tokens are not known before its answer, so Wait takes an upper bound
// (prompt tokens plus the request's max_tokens) and Settle the count the
// server reported. The window counts the bound until the request settles,
// then the count, so the limit holds whatever the answers' lengths; the
// pacing charges the mean use of the requests settled so far and corrects
// by the difference when each settles. The tighter the bound, the closer
// the throughput comes to the limit. The zero value and a nil *Limiter do
// not limit. It is safe for concurrent use.
type Limiter struct {
	rpm, tpm int

	mu      sync.Mutex
	nextReq time.Time      // earliest start of the next request (RPM)
	nextTok time.Time      // earliest start by the tokens of those before (TPM)
	recent  []*Reservation // starts of the last minute, in order
	changed chan struct{}  // closed when a Settle may let waiters start sooner
	used    int64          // tokens of the settled requests...
	settled int            // ...and their number
}

// NewLimiter returns a Limiter for rpm requests and tpm tokens per minute;
// 0 means no limit of that kind.
func NewLimiter(rpm, tpm int) *Limiter {
	return &Limiter{rpm: max(rpm, 0), tpm: max(tpm, 0)}
}

// Reservation is one request's place in a Limiter's schedule.
type Reservation struct {
	l       *Limiter
	at      time.Time
	tokens  int // counted in the window: the bound, then the tokens used
	est     int // charged to the pacing
	settled bool
}

// Start returns the time the request was allowed to start.
func (r *Reservation) Start() time.Time { return r.at }

// Wait blocks until a request of at most tokens tokens may start, and
// returns its reservation; Settle it with the tokens used. It fails only
// when ctx ends first. A request of more than TPM tokens waits for a whole
// empty minute.
func (l *Limiter) Wait(ctx context.Context, tokens int) (*Reservation, error) {
	if l == nil || (l.rpm == 0 && l.tpm == 0) {
		return &Reservation{at: time.Now(), tokens: tokens}, nil
	}
	tokens = max(tokens, 0)
	for {
		r, at, changed := l.reserve(time.Now(), tokens)
		if r != nil {
			return r, nil
		}
		// Sleep until the computed start, or until a settled request gives
		// tokens back and the start may come sooner; another waiter may
		// take the place first, so look again.
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("remote: rate limit wait: %w", ctx.Err())
		case <-changed:
			t.Stop()
		case <-t.C:
		}
	}
}

// reserve takes a place starting now when the limits allow it; otherwise
// it returns the earliest start the limits allow as things stand, and a
// channel closed when they change.
func (l *Limiter) reserve(now time.Time, tokens int) (*Reservation, time.Time, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget starts more than a minute ago.
	i := 0
	for i < len(l.recent) && !l.recent[i].at.After(now.Add(-time.Minute)) {
		i++
	}
	l.recent = append(l.recent[:0], l.recent[i:]...)

	t := now
	if l.rpm > 0 {
		t = latest(t, l.nextReq)
	}
	if l.tpm > 0 {
		t = latest(t, l.nextTok)
	}
	// Move t on until the starts of the minute before it, (t-1m, t], leave
	// room for one more request of these tokens.
	want := tokens
	if l.tpm > 0 {
		want = min(tokens, l.tpm)
	}
	sum := 0
	for _, o := range l.recent {
		sum += o.tokens
	}
	for j := 0; ; {
		for j < len(l.recent) && !l.recent[j].at.After(t.Add(-time.Minute)) {
			sum -= l.recent[j].tokens
			j++
		}
		if (l.tpm == 0 || sum+want <= l.tpm) && (l.rpm == 0 || len(l.recent)-j < l.rpm) {
			break
		}
		t = l.recent[j].at.Add(time.Minute) // when the oldest leaves the window
	}
	if t.After(now) {
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		return nil, t, l.changed
	}
	// Pace by the tokens the request will likely use: the mean of those
	// settled so far (the bound until one is); Settle corrects by the
	// difference.
	est := tokens
	if l.settled > 0 {
		est = min(tokens, int(l.used/int64(l.settled)))
	}
	r := &Reservation{l: l, at: now, tokens: tokens, est: est}
	l.recent = append(l.recent, r)
	if l.rpm > 0 {
		l.nextReq = now.Add(time.Minute / time.Duration(l.rpm))
	}
	if l.tpm > 0 {
		l.nextTok = now.Add(l.tokenTime(est))
	}
	return r, now, nil
}

// tokenTime is the share of a minute that n tokens take at TPM.
func (l *Limiter) tokenTime(n int) time.Duration {
	return time.Duration(int64(n) * int64(time.Minute) / int64(l.tpm))
}

// Settle records the tokens the request used (the server's count): the
// window counts them from then on, and the pacing gets back what was
// reserved beyond them (or is pushed back by what the request used beyond
// its reservation). Later calls do nothing.
func (r *Reservation) Settle(used int) {
	if r == nil || r.l == nil {
		return
	}
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	used = max(used, 0)
	if l.tpm > 0 {
		l.nextTok = l.nextTok.Add(l.tokenTime(used) - l.tokenTime(r.est))
		if now := time.Now(); l.nextTok.Before(now) {
			l.nextTok = now
		}
	}
	r.tokens = used
	l.used += int64(used)
	l.settled++
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
