package kernels

// DeltaRule applies one token's gated delta rule (Gated DeltaNet) to the
// state of one head and writes the head's output:
//
//	state (S, S), row j a value dim, column i a key dim; q, k (S); v, o (S)
//	S = decay S;  S += beta (v - S k) k^T;  o = S q
//
// row by row: each row is decayed and dotted with k, then takes its update
// and is dotted with q. Every kernel set computes the bits of deltaRuleGo.
func DeltaRule(state, q, k, v, o []float32, decay, beta float32) {
	active.delta(state, q, k, v, o, decay, beta)
}

// deltaRuleGo is DeltaRule in Go, summing as the AVX2 kernel does: the
// products of the first S/8*8 columns in 8 lanes, chunks of 8 columns
// alternating between two accumulators, which are added lane by lane and
// reduced by sum8; the columns past them added one by one. Products are
// rounded before they are added (no FMA), so that arm64's fused
// multiply-adds cannot change the bits.
func deltaRuleGo(state, q, k, v, o []float32, decay, beta float32) {
	S := len(k)
	q, v, o = q[:S], v[:S], o[:S]
	n8 := S / 8 * 8
	for j := range S {
		row := state[j*S : (j+1)*S]
		var a [2][8]float32
		for i := 0; i < n8; i++ {
			r := float32(row[i] * decay)
			row[i] = r
			acc := &a[i/8%2][i%8]
			*acc += float32(k[i] * r)
		}
		sk := rowSum(&a, row, k, n8, decay)
		dj := float32(float32(v[j]-sk) * beta)
		a = [2][8]float32{}
		for i := 0; i < n8; i++ {
			r := row[i] + float32(dj*k[i])
			row[i] = r
			acc := &a[i/8%2][i%8]
			*acc += float32(q[i] * r)
		}
		for i := n8; i < S; i++ {
			row[i] += float32(dj * k[i])
		}
		o[j] = rowSum(&a, row, q, n8, 1)
	}
}

// rowSum reduces the two accumulators and adds the products of the columns
// past n8, scaling those row entries by scale first (the decay of the first
// pass; 1 in the second).
func rowSum(a *[2][8]float32, row, x []float32, n8 int, scale float32) float32 {
	var l [8]float32
	for i := range l {
		l[i] = a[0][i] + a[1][i]
	}
	s := sum8(&l)
	for i := n8; i < len(x); i++ {
		if scale != 1 {
			row[i] = float32(row[i] * scale)
		}
		s += float32(x[i] * row[i])
	}
	return s
}

// sum8 reduces 8 lanes as the AVX2 kernels' hsumTo does:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
func sum8(l *[8]float32) float32 {
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}
