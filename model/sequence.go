package model

import "fmt"

// A cache with recurrent layers (deltanet.go) cannot be cut at any
// position as attention rows can: its state knows only the end of its
// sequence. So that a shared prompt prefix or the previous turn of a chat
// is not recomputed, the cache keeps snapshots of every recurrent layer's
// state at block boundaries, the positions that are multiples of
// SnapshotEvery, and at one marked position (MarkSnapshot: the scheduler
// marks the end of each prompt), in SnapshotSlots slots; a new snapshot
// replaces the one of the lowest position other than the mark. Each
// snapshot costs Config.StateBytes (qwen3.5-0.8b: 19.3 MiB), allocated at the
// first; Seek and CopyPrefix resume at the end of the sequence or at the
// latest snapshot before the position asked for.
const (
	SnapshotEvery = 256
	SnapshotSlots = 4
)

// MarkSnapshot asks for a snapshot when the recurrent states reach
// position p (after its first p tokens), besides the block boundaries,
// kept until the next mark. It does nothing for a cache without recurrent
// layers.
func (c *Cache) MarkSnapshot(p int) {
	if c.recurrent {
		c.mark = p
	}
}

// Reusable returns the largest k <= n such that the cache can resume
// after its positions [0, k): n itself for attention-only models; for a
// model with recurrent layers, the end of its sequence or a snapshot, else
// 0.
func (c *Cache) Reusable(n int) int {
	if !c.recurrent {
		return n
	}
	best := 0
	if c.next <= n {
		best = c.next
	}
	for _, p := range c.snapPos {
		if p <= n && p > best {
			best = p
		}
	}
	return best
}

// Seek keeps the cache's positions [0, Reusable(n)) for the sequence to
// continue after them, restoring a snapshot where it must, and returns
// that count.
func (c *Cache) Seek(n int) int {
	k := c.Reusable(n)
	if !c.recurrent || k == c.next {
		c.dropSnapshotsAfter(k)
		return k
	}
	if k > 0 {
		slot := c.slotOf(k)
		for _, l := range c.layers {
			if st, ok := l.(*recurrent); ok {
				st.restore(st, slot)
			}
		}
	}
	c.next = k // at 0 the next Forward restarts the states
	c.dropSnapshotsAfter(k)
	return k
}

// CopyPrefix makes c hold src's positions [0, k), k = src.Reusable(n), for
// reusing a shared prompt prefix, and returns k. Both caches must belong to
// the same model. c's snapshots are dropped.
func (c *Cache) CopyPrefix(src *Cache, n int) int {
	k := src.Reusable(n)
	slot := -1 // src's live states
	if c.recurrent && k != src.next && k > 0 {
		slot = src.slotOf(k)
	}
	for i, l := range c.layers {
		if st, ok := l.(*recurrent); ok {
			st.restore(src.layers[i].(*recurrent), slot)
		} else {
			l.copyPrefix(src.layers[i], k)
		}
	}
	if c.recurrent {
		c.next = k
		c.dropSnapshotsAfter(0)
	}
	return k
}

func (c *Cache) slotOf(p int) int {
	for s, q := range c.snapPos {
		if q == p {
			return s
		}
	}
	panic(fmt.Sprintf("model: no snapshot at %d", p))
}

func (c *Cache) dropSnapshotsAfter(k int) {
	for s, p := range c.snapPos {
		if p > k {
			c.snapPos[s] = 0
		}
	}
}

// planSnapshot returns the slot that the states after position p (the
// token at p absorbed) go to, or -1 when p+1 is neither a block boundary
// nor the mark, choosing and claiming the slot.
func (c *Cache) planSnapshot(p int) int {
	at := p + 1
	if at%SnapshotEvery != 0 && at != c.mark {
		return -1
	}
	if c.snapPos == nil {
		c.snapPos = make([]int, SnapshotSlots)
		for _, l := range c.layers {
			if st, ok := l.(*recurrent); ok {
				st.allocSnapshots(SnapshotSlots)
			}
		}
	}
	slot := -1
	for s, q := range c.snapPos { // the same position again, else a free slot
		if q == at || (q == 0 && slot < 0) {
			slot = s
		}
	}
	if slot < 0 { // else the lowest position but the mark's
		for s, q := range c.snapPos {
			if q != c.mark && (slot < 0 || q < c.snapPos[slot]) {
				slot = s
			}
		}
	}
	c.snapPos[slot] = at
	return slot
}

// checkSequences checks that each token of a cache with recurrent layers
// continues its sequence, at the position after the previous one, or
// restarts it at 0 as the cache's first token in the batch (which drops
// its snapshots), and plans the snapshots the batch makes (r.snap).
func (r *Runner) checkSequences(b *Batch) error {
	for pass := 0; pass < 2; pass++ { // check all, then plan
		for _, c := range b.Caches {
			c.pending, c.seen = c.next, false
		}
		for i, c := range b.Caches {
			r.snap[i] = -1
			if !c.recurrent {
				continue
			}
			p := b.Pos[i]
			restart := p == 0 && !c.seen
			if !restart && p != c.pending {
				return fmt.Errorf("model: position %d does not continue a recurrent sequence at %d (Seek to rewind)", p, c.pending)
			}
			c.pending, c.seen = p+1, true
			if pass == 1 {
				if restart {
					c.dropSnapshotsAfter(0)
				}
				r.snap[i] = c.planSnapshot(p)
			}
		}
	}
	return nil
}
