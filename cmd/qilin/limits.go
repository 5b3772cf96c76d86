package main

import (
	"fmt"

	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/model"
)

// The ranges of the CLI's numbers are the server's for the request fields
// of the same meaning, with the same messages, so that "--temp -1" and
// {"temperature": -1} are refused alike.

// checkNonNegative refuses a negative count, as the server refuses a
// negative top_k ("%d is negative").
func checkNonNegative(flag string, v int) error {
	if v < 0 {
		return usageError("--%s: %d is negative", flag, v)
	}
	return nil
}

// checkThreads refuses a negative thread count (0 means all CPUs).
func checkThreads(n int) error { return checkNonNegative("threads", n) }

// checkMaxTokens checks --max-tokens as the server checks max_tokens: a
// positive number of tokens no larger than the context (0, the CLI's "until
// the context is full", is allowed too).
func checkMaxTokens(n, context int) error {
	switch {
	case n < 0:
		return usageError("--max-tokens: %d is not a positive number of tokens (0: until the context is full)", n)
	case context > 0 && n > context:
		return usageError("--max-tokens: %d is above the context of %d tokens", n, context)
	}
	return nil
}

// checkContext refuses a --ctx whose KV caches (kvBytes in all, for every
// sequence the command keeps) would not fit in the machine's memory (mem
// bytes; 0: unknown), and returns a warning, or "", for one above the
// model's training context, which llama.cpp allows too.
func checkContext(ctx, trained int, kvBytes, mem uint64) (warning string, err error) {
	if mem > 0 && kvBytes > mem {
		return "", usageError("--ctx: %d tokens need %s of KV cache, more than this machine's %s of memory",
			ctx, termui.Bytes(int64(kvBytes)), termui.Bytes(int64(mem)))
	}
	if trained > 0 && ctx > trained {
		return fmt.Sprintf("--ctx %d is above the model's training context of %d tokens: expect worse text past it", ctx, trained), nil
	}
	return "", nil
}

// kvCacheBytes is the size of the f16 key and value caches of slots
// sequences of ctx positions each, and of a hybrid model's recurrent states
// with their snapshots.
func kvCacheBytes(m *model.Model, ctx, slots int) uint64 {
	perSeq := uint64(m.CacheBytesPerToken())*uint64(ctx) + uint64(m.StateBytes())*(1+model.SnapshotSlots)
	return perSeq * uint64(max(slots, 1))
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
