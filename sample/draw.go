package sample

// TokenProb is a token with its probability in a sampling distribution.
type TokenProb struct {
	ID   int
	Prob float64
}

// A Drawer replaces a Sampler's random draw: a keyed rule (a Gumbel-max
// watermark) picks the token from the distribution the Sampler would have
// drawn from.
type Drawer interface {
	// Draw returns the token to emit. dist holds every candidate left after
	// the penalties, top-k, top-p and min-p, with its probability under the
	// temperature (they sum to 1, none is zero), in no particular order; it
	// is never empty and is reused by the next call. A returned id that is
	// not in dist is ignored: the Sampler draws at random instead.
	Draw(dist []TokenProb) int
}

// SetDrawer makes s choose tokens with d instead of its random generator
// (nil restores the random draw). Greedy sampling (Temperature <= 0 or
// TopK 1) never calls d: its choice is not random to begin with.
func (s *Sampler) SetDrawer(d Drawer) { s.drawer = d }

// drawWith hands the weighted candidates c (weights summing to sum) to the
// drawer and reports whether it chose one of them.
func (s *Sampler) drawWith(c []candidate, sum float64) (int, bool) {
	if cap(s.dist) < len(c) {
		s.dist = make([]TokenProb, 0, cap(s.cand))
	}
	d := s.dist[:0]
	for _, x := range c {
		if x.logit > 0 {
			d = append(d, TokenProb{ID: int(x.id), Prob: float64(x.logit) / sum})
		}
	}
	id := s.drawer.Draw(d)
	for _, x := range d {
		if x.ID == id {
			return id, true
		}
	}
	return 0, false
}
