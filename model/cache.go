package model

// Cache is the key/value cache of one sequence: for each layer, the keys and
// values of every position evaluated so far. Positions are chosen by the
// caller (see Batch); the cache only stores them.
type Cache struct {
	nCtx int
	k    [][]uint16 // per layer (n_ctx, n_head_kv*head_k), f16 as in llama.cpp
	v    [][]uint16 // per layer (n_ctx, n_head_kv*head_v), f16
}

// NewCache allocates a cache for nCtx positions of m.
func (m *Model) NewCache(nCtx int) *Cache {
	c := &Cache{nCtx: nCtx, k: make([][]uint16, m.NLayer), v: make([][]uint16, m.NLayer)}
	kDim, vDim := m.NHeadKV*m.HeadDimK, m.NHeadKV*m.HeadDimV
	for i := range c.k {
		c.k[i] = make([]uint16, nCtx*kDim)
		c.v[i] = make([]uint16, nCtx*vDim)
	}
	return c
}

// Len returns the number of positions the cache can hold.
func (c *Cache) Len() int { return c.nCtx }

// Bytes returns the memory held by the cache.
func (c *Cache) Bytes() int64 {
	var n int64
	for i := range c.k {
		n += int64(len(c.k[i])+len(c.v[i])) * 2
	}
	return n
}

// CopyPrefix copies positions [0, n) of src into c, for reusing a shared
// prompt prefix. Both caches must belong to the same model.
func (c *Cache) CopyPrefix(src *Cache, n int) {
	for i := range c.k {
		kd, vd := len(c.k[i])/c.nCtx, len(c.v[i])/c.nCtx
		copy(c.k[i][:n*kd], src.k[i][:n*kd])
		copy(c.v[i][:n*vd], src.v[i][:n*vd])
	}
}
