package model

// Cache is the memory of one sequence: for each layer, what that layer's
// kind keeps between steps. Attention layers keep rows of f16 values for
// every position evaluated so far, as wide as the kind needs (GQA: keys and
// values of the KV heads; MLA: one compressed latent row); a recurrent
// layer (deltanet.go) keeps a fixed-size state of the whole sequence.
// Positions are chosen by the caller (see Batch); attention rows may be
// rewritten at any position, but a cache with recurrent layers only
// continues its sequence (or restarts it at position 0): Seek and
// CopyPrefix say where it can resume.
type Cache struct {
	nCtx   int
	layers []layerState

	recurrent bool // some layer keeps a recurrent state
	next      int  // recurrent: the positions its state has absorbed
	pending   int  // Forward's scratch: the next position it expects of this cache
	seen      bool // Forward's scratch: an earlier token of the batch used this cache

	// Snapshots of the recurrent states (sequence.go): the positions each
	// slot holds (0: empty), allocated at the first one, and a position
	// to keep besides the block boundaries.
	snapPos []int
	mark    int
}

// layerState is what one layer keeps for one sequence.
type layerState interface {
	// bytes returns the memory held.
	bytes() int64
	// copyPrefix makes this state that of src (a state of the same layer
	// of another sequence) after its positions [0, n). A recurrent state
	// copies src's whole state; the Cache checks that n is where src
	// ends.
	copyPrefix(src layerState, n int)
}

// NewCache allocates a cache for nCtx positions of m.
func (m *Model) NewCache(nCtx int) *Cache {
	c := &Cache{nCtx: nCtx, layers: make([]layerState, len(m.Layers))}
	for i, l := range m.Layers {
		c.layers[i] = l.Attn.newState(&m.Config, nCtx)
		if _, ok := c.layers[i].(*recurrent); ok {
			c.recurrent = true
		}
	}
	return c
}

// Len returns the number of positions the cache can hold.
func (c *Cache) Len() int { return c.nCtx }

// Bytes returns the memory held by the cache.
func (c *Cache) Bytes() int64 {
	var n int64
	for _, l := range c.layers {
		n += l.bytes()
	}
	return n
}

// CacheBytesPerToken returns the memory a sequence's cache holds per
// position, over all layers, with the f16 rows llama.cpp uses by default.
func (c *Config) CacheBytesPerToken() int64 {
	var n int64
	for li := 0; li < c.NLayer; li++ {
		at, _ := c.layerKinds(li)
		n += at.bytesPerToken(c)
	}
	return n
}

// kvRows holds f16 rows of every position: the keys and values of GQA
// attention, or, sharing one buffer, the latent rows of MLA.
type kvRows struct {
	k, v       []uint16 // (n_ctx, kDim), (n_ctx, vDim); v may alias k
	kDim, vDim int
}

func newKVRows(nCtx, kDim, vDim int) *kvRows {
	return &kvRows{k: make([]uint16, nCtx*kDim), v: make([]uint16, nCtx*vDim), kDim: kDim, vDim: vDim}
}

// shared reports whether the values are a view of the key rows.
func (s *kvRows) shared() bool { return len(s.v) > 0 && &s.v[0] == &s.k[0] }

func (s *kvRows) bytes() int64 {
	if s.shared() {
		return int64(len(s.k)) * 2
	}
	return int64(len(s.k)+len(s.v)) * 2
}

func (s *kvRows) copyPrefix(src layerState, n int) {
	o := src.(*kvRows)
	copy(s.k[:n*s.kDim], o.k[:n*s.kDim])
	if !s.shared() {
		copy(s.v[:n*s.vDim], o.v[:n*s.vDim])
	}
}
