package model

// Cache is the memory of one sequence: for each layer, what that layer's
// kind keeps between steps. Attention layers keep rows of f16 values for
// every position evaluated so far, as wide as the kind needs (GQA: keys and
// values of the KV heads; MLA: one compressed latent row); a recurrent kind
// would keep a fixed-size state instead. Positions are chosen by the caller
// (see Batch); the cache only stores them.
type Cache struct {
	nCtx   int
	layers []layerState
}

// layerState is what one layer keeps for one sequence.
type layerState interface {
	// bytes returns the memory held.
	bytes() int64
	// copyPrefix makes this state that of src (a state of the same layer
	// of another sequence) after its positions [0, n). It reports false
	// where the kind cannot cut a state at n (a recurrent state only knows
	// the end of its sequence).
	copyPrefix(src layerState, n int) bool
}

// NewCache allocates a cache for nCtx positions of m.
func (m *Model) NewCache(nCtx int) *Cache {
	c := &Cache{nCtx: nCtx, layers: make([]layerState, len(m.Layers))}
	for i, l := range m.Layers {
		c.layers[i] = l.Attn.newState(&m.Config, nCtx)
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

// CopyPrefix copies positions [0, n) of src into c, for reusing a shared
// prompt prefix. Both caches must belong to the same model. It reports
// false (and c must then be reset) where a layer's state cannot be cut at n.
func (c *Cache) CopyPrefix(src *Cache, n int) bool {
	ok := true
	for i, l := range c.layers {
		ok = l.copyPrefix(src.layers[i], n) && ok
	}
	return ok
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

func (s *kvRows) copyPrefix(src layerState, n int) bool {
	o := src.(*kvRows)
	copy(s.k[:n*s.kDim], o.k[:n*s.kDim])
	if !s.shared() {
		copy(s.v[:n*s.vDim], o.v[:n*s.vDim])
	}
	return true
}
