package train

import "math/rand/v2"

// rowStream yields the packed rows of training in order: epoch after epoch,
// each epoch's examples shuffled by (seed, epoch) and packed into rows. Row
// i of the stream is a function of the examples, T, the seed and i alone,
// which is what lets a resumed run continue exactly where it stopped.
type rowStream struct {
	examples []Example
	T        int
	seed     uint64

	epoch int         // the epoch held in rows
	base  int         // stream index of rows[0]
	rows  []packedRow // the current epoch's rows
}

func newRowStream(examples []Example, T int, seed uint64) *rowStream {
	s := &rowStream{examples: examples, T: T, seed: seed}
	s.load(0, 0)
	return s
}

func (s *rowStream) load(epoch, base int) {
	order := make([]int, len(s.examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(s.seed, 0xe9<<32|uint64(epoch)))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	s.epoch, s.base, s.rows = epoch, base, pack(s.examples, order, s.T)
}

// row returns stream row i.
func (s *rowStream) row(i int) packedRow {
	if i < s.base {
		s.load(0, 0)
	}
	for i >= s.base+len(s.rows) {
		s.load(s.epoch+1, s.base+len(s.rows))
	}
	return s.rows[i-s.base]
}

// epochAt returns how many epochs rows [0, i) cover, fractionally.
func (s *rowStream) epochAt(i int) float64 {
	s.row(max(i-1, 0))
	return float64(s.epoch) + float64(i-s.base)/float64(len(s.rows))
}

// rowsPerEpoch is the number of rows of the first epoch, the unit --epochs
// counts in.
func (s *rowStream) rowsPerEpoch() int {
	if s.epoch != 0 {
		s.load(0, 0)
	}
	return len(s.rows)
}
