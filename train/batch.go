package train

// Example is one training document: its tokens, the ones the loss is on
// (the assistant's, reasoning included), and optionally the teacher's top-k
// alternatives for predicted tokens (top-k distillation).
type Example struct {
	Tokens []int32
	// Loss[i] reports that Tokens[i] is a target: the model is trained to
	// predict it from the tokens before it.
	Loss []bool
	// The teacher's alternatives for Tokens[i] are TopID/TopLogp[TopOff[i]:
	// TopOff[i+1]] (token ids and log-probabilities). TopOff is nil when
	// the example has none, else len(Tokens)+1 offsets.
	TopOff  []int32
	TopID   []int32
	TopLogp []float32

	fromLogprobs bool // the answer's tokens are the teacher's own, from its logprobs
}

// Batch is one micro-batch: Rows rows of T positions, each row packed with
// whole documents one after another (attention never crosses from one to
// the next), the rest padding.
type Batch struct {
	Rows, T int
	Tokens  []int32 // (Rows, T) input tokens
	Pos     []int32 // position of each token in its document (RoPE)
	Start   []int32 // row index of the first position of each token's document
	Target  []int32 // the token to predict after each position, -1 for no loss
	// Top-k teacher alternatives for the prediction at position i:
	// KDID/KDLogp[KDOff[i]:KDOff[i+1]]; KDOff has Rows*T+1 entries, all 0
	// when the batch has none.
	KDOff  []int32
	KDID   []int32
	KDLogp []float32
}

// NewBatch allocates a batch of rows x T positions.
func NewBatch(rows, T int) *Batch {
	n := rows * T
	return &Batch{Rows: rows, T: T, Tokens: make([]int32, n), Pos: make([]int32, n), Start: make([]int32, n),
		Target: make([]int32, n), KDOff: make([]int32, n+1)}
}

// packedRow lists the examples of one row, in order, each cut to at most T
// tokens.
type packedRow []int

// pack assigns examples, in the given order, to rows of T positions,
// starting a new row when the next example does not fit. Examples longer
// than T are truncated to T tokens (and fill a row alone).
func pack(examples []Example, order []int, T int) []packedRow {
	var rows []packedRow
	var cur packedRow
	used := 0
	for _, i := range order {
		n := min(len(examples[i].Tokens), T)
		if n == 0 {
			continue
		}
		if used+n > T && len(cur) > 0 {
			rows = append(rows, cur)
			cur, used = nil, 0
		}
		cur = append(cur, i)
		used += n
	}
	if len(cur) > 0 {
		rows = append(rows, cur)
	}
	return rows
}

// fill writes rows into b (len(rows) <= b.Rows; rows past them are
// padding) and returns the number of CE targets and of KD targets.
func (b *Batch) fill(examples []Example, rows []packedRow) (nCE, nKD int) {
	T := b.T
	b.KDID, b.KDLogp = b.KDID[:0], b.KDLogp[:0]
	b.KDOff[0] = 0
	for r := 0; r < b.Rows; r++ {
		at := 0
		if r < len(rows) {
			for _, ei := range rows[r] {
				ex := &examples[ei]
				n := min(len(ex.Tokens), T)
				for j := 0; j < n; j++ {
					i := r*T + at + j
					b.Tokens[i], b.Pos[i], b.Start[i], b.Target[i] = ex.Tokens[j], int32(j), int32(at), -1
					if j+1 < n && ex.Loss[j+1] {
						b.Target[i] = ex.Tokens[j+1]
						nCE++
						if ex.TopOff != nil && ex.TopOff[j+2] > ex.TopOff[j+1] {
							lo, hi := ex.TopOff[j+1], ex.TopOff[j+2]
							b.KDID = append(b.KDID, ex.TopID[lo:hi]...)
							b.KDLogp = append(b.KDLogp, ex.TopLogp[lo:hi]...)
							nKD++
						}
					}
					b.KDOff[i+1] = int32(len(b.KDID))
				}
				at += n
			}
		}
		// Padding: one document of token 0 with no loss.
		for j := at; j < T; j++ {
			i := r*T + j
			b.Tokens[i], b.Pos[i], b.Start[i], b.Target[i] = 0, int32(j-at), int32(at), -1
			b.KDOff[i+1] = int32(len(b.KDID))
		}
	}
	return nCE, nKD
}
