package chat

import "bytes"

// hold is the text a streaming parser has received but not yet released.
// Its front may be a run of blanks whose fate depends on what follows (a
// separator dropped after a marker); it is scanned only once, so that a
// parser's work per piece is proportional to the piece, however long the
// run.
type hold struct {
	buf   []byte
	blank int // buf[:blank] is known to be all blanks
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (h *hold) add(s string) { h.buf = append(h.buf, s...) }

// drop discards the first n bytes.
func (h *hold) drop(n int) {
	h.buf = h.buf[n:]
	h.blank = max(0, h.blank-n)
	if len(h.buf) == 0 {
		h.buf = h.buf[:0:0] // let a long-gone backing array go
	}
}

// take releases the first n bytes.
func (h *hold) take(n int) string {
	s := string(h.buf[:n])
	h.drop(n)
	return s
}

// all releases everything.
func (h *hold) all() string { return h.take(len(h.buf)) }

// scanBlanks extends the known blank run and reports whether it covers the
// whole buffer.
func (h *hold) scanBlanks() bool {
	for h.blank < len(h.buf) && isBlank(h.buf[h.blank]) {
		h.blank++
	}
	return h.blank == len(h.buf)
}

// dropBlanks discards leading blanks and reports whether anything is left.
func (h *hold) dropBlanks() bool {
	h.scanBlanks()
	h.drop(h.blank)
	return len(h.buf) > 0
}

// hasPrefix reports whether the text after the leading blanks starts with
// m (complete), or could still (partial: it is a prefix of m).
func (h *hold) hasPrefix(m []byte) (complete, partial bool) {
	h.scanBlanks()
	rest := h.buf[h.blank:]
	return bytes.HasPrefix(rest, m), bytes.HasPrefix(m, rest)
}

// next looks for the earliest of markers. Found: it returns the text
// before it, leaving the marker at the front, and which marker it is. Not
// found: it returns everything but a partial marker at the end. Blank text
// is released as it comes, like any other.
func (h *hold) next(markers [][]byte) (text string, marker int) {
	at, marker := -1, -1
	for i, m := range markers {
		if j := bytes.Index(h.buf, m); j >= 0 && (at < 0 || j < at) {
			at, marker = j, i
		}
	}
	if at >= 0 {
		return h.take(at), marker
	}
	keep := len(h.buf)
	for _, m := range markers {
		keep = min(keep, len(h.buf)-partialSuffix(h.buf, m))
	}
	return h.take(keep), -1
}

// partialSuffix returns the length of the longest suffix of s that is a
// proper prefix of m (a marker that may complete with the next piece).
func partialSuffix(s, m []byte) int {
	for n := min(len(s), len(m)-1); n > 0; n-- {
		if bytes.HasSuffix(s, m[:n]) {
			return n
		}
	}
	return 0
}
