package grammar

import (
	"slices"
	"unicode/utf8"
)

// byteSeq is a sequence of byte ranges: the UTF-8 encodings of a block of
// code points, one inclusive range per byte position.
type byteSeq []byteRange

type byteRange struct{ lo, hi byte }

// normalize sorts and merges ranges, dropping the surrogates (which have
// no UTF-8 encoding).
func normalize(rs []cpRange) []cpRange {
	var out []cpRange
	for _, r := range rs {
		if r.lo < 0xD800 && r.hi > 0xDFFF {
			out = append(out, cpRange{r.lo, 0xD7FF}, cpRange{0xE000, r.hi})
			continue
		}
		if r.lo >= 0xD800 && r.lo <= 0xDFFF {
			r.lo = 0xE000
		}
		if r.hi >= 0xD800 && r.hi <= 0xDFFF {
			r.hi = 0xD7FF
		}
		if r.lo <= r.hi {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b cpRange) int { return int(a.lo - b.lo) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// complement returns the code points (surrogates excluded) not in rs,
// which must be normalized.
func complement(rs []cpRange) []cpRange {
	var out []cpRange
	next := rune(0)
	for _, r := range rs {
		if r.lo > next {
			out = append(out, cpRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, cpRange{next, utf8.MaxRune})
	}
	return normalize(out)
}

// utf8Seqs returns byte sequences whose union is exactly the UTF-8
// encodings of the code points in rs (normalized).
func utf8Seqs(rs []cpRange) []byteSeq {
	var out []byteSeq
	for _, r := range rs {
		out = splitUTF8(out, r.lo, r.hi)
	}
	return out
}

// encodedLenBounds are the largest code points of each UTF-8 length.
var encodedLenBounds = [...]rune{0x7F, 0x7FF, 0xFFFF}

// splitUTF8 appends the sequences for [lo, hi] (no surrogates inside):
// first split where the encoded length changes, then where the ranges of
// the continuation bytes would not be full, so that each piece is a cross
// product of byte ranges.
func splitUTF8(out []byteSeq, lo, hi rune) []byteSeq {
	for _, b := range encodedLenBounds {
		if lo <= b && b < hi {
			out = splitUTF8(out, lo, b)
			return splitUTF8(out, b+1, hi)
		}
	}
	n := utf8.RuneLen(lo)
	for i := 1; i < n; i++ {
		m := rune(1)<<(6*i) - 1
		if lo&^m != hi&^m {
			if lo&m != 0 {
				out = splitUTF8(out, lo, lo|m)
				return splitUTF8(out, (lo|m)+1, hi)
			}
			if hi&m != m {
				out = splitUTF8(out, lo, hi&^m-1)
				return splitUTF8(out, hi&^m, hi)
			}
		}
	}
	var a, b [utf8.UTFMax]byte
	utf8.EncodeRune(a[:], lo)
	utf8.EncodeRune(b[:], hi)
	seq := make(byteSeq, n)
	for i := range n {
		seq[i] = byteRange{a[i], b[i]}
	}
	return append(out, seq)
}
