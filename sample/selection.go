package sample

import "slices"

// selectTop rearranges c so that its first k elements are the k highest by
// the before order (in no particular order among themselves). It is
// quickselect with median-of-three pivots, falling back to a full sort when
// partitioning goes badly, so it is O(len(c)) on average and never
// quadratic. It allocates nothing.
func selectTop(c []candidate, k int) {
	if k <= 0 || k >= len(c) {
		return
	}
	lo, hi := 0, len(c) // the k-th position lies in c[lo:hi]
	budget := 2 * bitLen(len(c))
	for hi-lo > 16 {
		if budget == 0 {
			slices.SortFunc(c[lo:hi], compareCandidates)
			return
		}
		budget--
		p := partition(c[lo:hi]) + lo
		switch {
		case p == k || p == k-1:
			return
		case p < k:
			lo = p + 1
		default:
			hi = p
		}
	}
	slices.SortFunc(c[lo:hi], compareCandidates)
}

// partition puts a median-of-three pivot at its final place i in c and
// returns i: c[:i] come before it, c[i+1:] after.
func partition(c []candidate) int {
	n := len(c)
	a, b, d := 0, n/2, n-1
	// Order c[a], c[b], c[d] so the median lands in c[b].
	if before(c[b], c[a]) {
		c[a], c[b] = c[b], c[a]
	}
	if before(c[d], c[b]) {
		c[b], c[d] = c[d], c[b]
		if before(c[b], c[a]) {
			c[a], c[b] = c[b], c[a]
		}
	}
	c[b], c[d] = c[d], c[b] // pivot to the end
	pivot := c[d]
	i := 0
	for j := 0; j < d; j++ {
		if before(c[j], pivot) {
			c[i], c[j] = c[j], c[i]
			i++
		}
	}
	c[i], c[d] = c[d], c[i]
	return i
}

func bitLen(n int) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}
