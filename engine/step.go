package engine

import "github.com/qilin-ai/qilin/model"

// step runs one forward pass over every active slot and hands each
// decoding slot's logits to produce.
func (s *Scheduler) step() {
	b := &s.batch
	b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
	rows := 0
	// Decode tokens first: one per decoding slot.
	for _, sl := range s.slots {
		sl.row, sl.chunk = -1, 0
		if sl.state == slotDecode {
			s.push(sl.cache, sl.next, len(sl.tokens), true)
			sl.row = rows
			rows++
		}
	}
	// Then prompt chunks, in slot order, up to the step's budget: small
	// while streams wait for their next token, larger when none does.
	budget := s.opts.PrefillChunk
	if rows == 0 {
		budget = max(budget, idleChunk)
	}
	for _, sl := range s.slots {
		if sl.state != slotPrefill || budget == 0 {
			continue
		}
		done := len(sl.tokens)
		sl.chunk = min(budget, len(sl.prompt)-done)
		for i := 0; i < sl.chunk; i++ {
			last := done+i == len(sl.prompt)-1
			s.push(sl.cache, sl.prompt[done+i], done+i, last)
			if last {
				sl.row = rows
				rows++
			}
		}
		budget -= sl.chunk
	}
	if err := s.runner.Forward(b, s.logits); err != nil {
		// A broken invariant (validated requests cannot cause it): fail
		// every active request rather than loop on the error.
		s.mu.Lock()
		for _, sl := range s.slots {
			if sl.job != nil {
				s.release(sl, "", "", err)
			}
		}
		s.mu.Unlock()
		return
	}
	s.stats.steps.Add(1)
	for _, sl := range s.slots {
		switch sl.state {
		case slotDecode:
			sl.tokens = append(sl.tokens, sl.next)
		case slotPrefill:
			done := len(sl.tokens)
			sl.tokens = append(sl.tokens, sl.prompt[done:done+sl.chunk]...)
			if len(sl.tokens) == len(sl.prompt) {
				sl.state = slotDecode
			}
		}
	}
	nv := s.e.Model.NVocab
	var used int64
	for _, sl := range s.slots {
		if sl.row >= 0 && sl.state == slotDecode && sl.job != nil {
			s.produce(sl, s.logits[sl.row*nv:(sl.row+1)*nv])
		}
		if sl.job != nil {
			used += int64(len(sl.tokens))
		}
	}
	s.kvUsed.Store(used)
}

// push appends one token to the step's batch.
func (s *Scheduler) push(c *model.Cache, tok, pos int, logits bool) {
	b := &s.batch
	b.Tokens = append(b.Tokens, tok)
	b.Pos = append(b.Pos, pos)
	b.Caches = append(b.Caches, c)
	b.Logits = append(b.Logits, logits)
}
