package tokenizer

// Hand-written splitters for the hot pre-tokenizers. Each is equivalent to
// its regexp2 pattern list in pretok.go (FuzzSplit* checks this) and runs an
// order of magnitude faster. They follow the regex semantics: at each
// position the alternatives are tried in order and the first that matches
// wins; text no alternative matches is kept as a word of its own.

// wordEmitter collects word end offsets, merging unmatched runs into one
// word the way a regex split keeps the text between two matches.
type wordEmitter struct {
	ends []int
	gap  int // start of pending unmatched text, or -1
}

// match records a match from start to end.
func (e *wordEmitter) match(start, end int) {
	if e.gap >= 0 {
		e.ends = append(e.ends, start)
		e.gap = -1
	}
	e.ends = append(e.ends, end)
}

// miss records that no alternative matched at pos.
func (e *wordEmitter) miss(pos int) {
	if e.gap < 0 {
		e.gap = pos
	}
}

// advance records the match [i, end) and returns end, or, when end < 0
// (no match), records the rune of width w at i as unmatched and returns
// the offset after it.
func (e *wordEmitter) advance(i, w, end int) int {
	if end < 0 {
		e.miss(i)
		return i + w
	}
	e.match(i, end)
	return end
}

// finish flushes pending unmatched text up to n.
func (e *wordEmitter) finish(n int) []int {
	if e.gap >= 0 {
		e.ends = append(e.ends, n)
		e.gap = -1
	}
	return e.ends
}

// contraction returns the length of the contraction suffix
// 's 't 're 've 'm 'll 'd (ASCII case-insensitive) at s[i:], which starts
// with an apostrophe, or 0.
func contraction(s string, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// skipClass returns the offset after the run of runes from i whose class
// has a bit of mask.
func skipClass(tab *classTable, s string, i int, mask uint8) int {
	for i < len(s) {
		_, w, c := tab.decodeAt(s, i)
		if c&mask == 0 {
			break
		}
		i += w
	}
	return i
}

// skipNewlines returns the offset after the run of \r and \n from i.
func skipNewlines(s string, i int) int {
	for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// matchSpace matches \s*[\r\n]+|\s+(?!\S)|\s+ at i, where s[i:] starts
// with whitespace, and returns the end of the match.
func matchSpace(tab *classTable, s string, i int) int {
	lastNL, lastStart, n := -1, i, 0
	j := i
	for j < len(s) {
		r, w, c := tab.decodeAt(s, j)
		if c&clsSpace == 0 {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = j + w
		}
		lastStart = j
		n++
		j += w
	}
	switch {
	case lastNL >= 0: // \s*[\r\n]+ ends at the last newline of the run
		return lastNL
	case j == len(s) || n == 1: // \s+(?!\S) at the end, or \s+
		return j
	default: // \s+(?!\S): all but the last space, which goes with what follows
		return lastStart
	}
}

// splitQwen2 implements patQwen2.
func splitQwen2(s string, ends []int) []int { return splitQwenLike(s, ends, 1, 0) }

// splitQwen35 implements patQwen35: patQwen2 with marks as letters.
func splitQwen35(s string, ends []int) []int { return splitQwenLike(s, ends, 1, clsMark) }

// splitLlama3 implements patLlama3.
func splitLlama3(s string, ends []int) []int { return splitQwenLike(s, ends, 3, 0) }

// splitQwenLike implements, with W the letters and the classes in wordExtra
// (none, or \p{M} for Qwen3.5),
//
//	(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?W+|\p{N}{1,digits}| ?[^\sW\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// A rune at i that is itself in W starts the same run with or without the
// optional prefix, so the prefix only matters before a rune of W.
func splitQwenLike(s string, ends []int, digits int, wordExtra uint8) []int {
	tab := classes()
	word := clsLetter | wordExtra
	e := wordEmitter{ends: ends, gap: -1}
	for i := 0; i < len(s); {
		r, w, c := tab.decodeAt(s, i)
		end := -1
		switch {
		case r == '\'' && contraction(s, i) > 0:
			end = i + contraction(s, i)
		case c&clsNumber != 0:
			end = skipUpTo(tab, s, i+w, clsNumber, digits-1)
		default:
			end = matchPrefixedRun(tab, s, i, r, w, c, clsLetter|clsNumber, word)
			if end < 0 {
				end = matchRunOrSpace(tab, s, i, r, c, clsSpace|word|clsNumber, true)
			}
		}
		i = e.advance(i, w, end)
	}
	return e.finish(len(s))
}

// skipUpTo returns the offset after at most n runes from i whose class has
// a bit of mask.
func skipUpTo(tab *classTable, s string, i int, mask uint8, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, w, c := tab.decodeAt(s, i)
		if c&mask == 0 {
			break
		}
		i += w
	}
	return i
}

// matchPrefixedRun matches [^\r\n<excl>]?<run>+ at i, where the rune at i
// is r (width w, class c) and excl and run are class masks. It returns the
// end of the match, or -1.
func matchPrefixedRun(tab *classTable, s string, i int, r rune, w int, c, excl, run uint8) int {
	if c&run != 0 {
		return skipClass(tab, s, i+w, run)
	}
	if c&excl == 0 && r != '\r' && r != '\n' && i+w < len(s) {
		if _, w2, c2 := tab.decodeAt(s, i+w); c2&run != 0 {
			return skipClass(tab, s, i+w+w2, run)
		}
	}
	return -1
}

// matchRunOrSpace matches ` ?X+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` at i,
// where the rune at i is r with class c, and X is the runes whose class has
// a bit of mask (or, with negate, has none). It returns the end of the
// match, or -1.
func matchRunOrSpace(tab *classTable, s string, i int, r rune, c, mask uint8, negate bool) int {
	in := func(c uint8) bool { return (c&mask != 0) != negate }
	start := i
	if r == ' ' && i+1 < len(s) {
		if _, _, c2 := tab.decodeAt(s, i+1); in(c2) {
			start, c = i+1, c2
		}
	}
	if in(c) {
		for start < len(s) {
			_, w, c2 := tab.decodeAt(s, start)
			if !in(c2) {
				break
			}
			start += w
		}
		return skipNewlines(s, start)
	}
	if c&clsSpace != 0 {
		return matchSpace(tab, s, i)
	}
	return -1
}

// isDeepSeekCJK reports whether r is in [一-龥぀-ゟ゠-ヿ].
func isDeepSeekCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x3040 && r <= 0x30FF)
}

// splitDeepSeekV3 implements the DeepSeek-V3 list: \p{N}{1,3}, then
// [一-龥぀-ゟ゠-ヿ]+, then patDeepSeekV3 on every piece. The first two leave
// runs of digits (in threes), runs of those CJK characters and the runs of
// everything else; the main pattern cannot match inside a digit run, so only
// the other runs are split further.
func splitDeepSeekV3(s string, ends []int) []int {
	tab := classes()
	for i := 0; i < len(s); {
		r, w, c := tab.decodeAt(s, i)
		switch {
		case c&clsNumber != 0:
			end := skipUpTo(tab, s, i+w, clsNumber, 2)
			ends = append(ends, end)
			i = end
		case isDeepSeekCJK(r):
			end := i + w
			for end < len(s) {
				r2, w2, c2 := tab.decodeAt(s, end)
				if c2&clsNumber != 0 || !isDeepSeekCJK(r2) {
					break
				}
				end += w2
			}
			ends = splitDeepSeekV3Main(tab, s[:end], i, ends)
			i = end
		default:
			end := i + w
			for end < len(s) {
				r2, w2, c2 := tab.decodeAt(s, end)
				if c2&clsNumber != 0 || isDeepSeekCJK(r2) {
					break
				}
				end += w2
			}
			ends = splitDeepSeekV3Main(tab, s[:end], i, ends)
			i = end
		}
	}
	return ends
}

// isASCIIPunct reports whether c is in [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~].
func isASCIIPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// splitDeepSeekV3Main implements patDeepSeekV3 on s[from:]:
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitDeepSeekV3Main(tab *classTable, s string, from int, ends []int) []int {
	e := wordEmitter{ends: ends, gap: -1}
	for i := from; i < len(s); {
		r, w, c := tab.decodeAt(s, i)
		end := -1
		if r < 0x80 && isASCIIPunct(byte(r)) && i+1 < len(s) && isASCIILetter(s[i+1]) {
			end = i + 2
			for end < len(s) && isASCIILetter(s[end]) {
				end++
			}
		} else if end = matchPrefixedRun(tab, s, i, r, w, c, clsLetter|clsPunct|clsSymbol, clsLetter|clsMark); end < 0 {
			end = matchRunOrSpace(tab, s, i, r, c, clsPunct|clsSymbol, false)
		}
		i = e.advance(i, w, end)
	}
	return e.finish(len(s))
}
