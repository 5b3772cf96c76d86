// Package engine ties a GGUF file, its model, its tokenizer and a thread pool
// together and generates text.
//
// # One generation path
//
// Everything that generates goes through a Scheduler: the CLI (qilin run and
// qilin chat with one slot), the server (many slots, continuous batching),
// and whatever else drives a local model (distillation, evaluation). A
// Request carries the prompt tokens, the sampling parameters
// (sample.Params; sample.Defaults are every entry point's defaults), stop
// strings, the token limit, logprobs, the reasoning block and the
// request's Processors; its Stream delivers Events (token, released text,
// logprobs) and ends with a Result. Sampling, stop strings, detokenization,
// the reasoning budget, logprobs and prefix reuse exist only there. The seed
// policy is Seed's: a request's own seed, or a fresh random one for Seed 0,
// so a given seed gives the same text in qilin run and through the API,
// alone or batched.
//
// A Sequence is the model-level primitive under it: Eval evaluates tokens
// into a cache and hands out logits (benchmarks, logit dumps, reference
// decoders in tests).
//
// Chat prompts: LoadTemplate loads a chat template (the one place, with one
// failure policy: a model without a template, or whose template does not
// compile, gets ChatML and a warning; a user's template must compile).
// Engine.RenderChat renders a conversation with enable_thinking defaulting
// to ThinkingDefault and returns a ChatPrompt whose Reasoning describes the
// output's reasoning block, ready for Request.Reasoning: the one "does the
// prompt end inside reasoning" check.
//
// # The per-request control hook
//
// A Processor sees a request's state at each position before its token is
// chosen (a Step: the logits, the prompt, the output so far, the sampling
// parameters, the phase of the output) and may
//   - change the logits in place: mask (Step.Mask with a bitset over the
//     vocabulary, Step.Ban) or bias them;
//   - force the next tokens (Step.Force): they are emitted without sampling,
//     the later processors and the positions of the forced tokens are
//     skipped, and a forced end-of-generation token ends the request;
//   - end the request with an error.
//
// Processors run in the order of Request.Processors, on the scheduler's
// goroutine, after the model and before the sampler's chain (penalties,
// top-k, top-p, min-p, temperature). A Processor that is also a Drawer
// replaces the sampler's random draw: it receives the final distribution
// and chooses the token by its own rule; greedy requests (Step.Greedy) never
// draw. Logprobs are always those of the model's own logits, before any
// processor, so a watermark's bias or a grammar's mask never shows in them.
//
// What goes through the hook:
//   - The reasoning budget (Reasoning.Budget): a built-in Processor, first in
//     line, forces Reasoning.CloseWith once the block holds Budget tokens.
//   - Grammars (package grammar): Constrain wraps a Matcher (Mask, Accept,
//     CanEnd). The reasoning stays free; from the answer's first token on
//     (Step.Phase, Step.AnswerStart) only tokens the grammar accepts may be
//     chosen, and end-of-generation only where it can end. The phase comes
//     from Request.Reasoning: PhaseUndecided while the output may still open
//     a block (the opening tag is then allowed too), PhaseReasoning inside
//     it, PhaseAnswer after its closing tag (and the blank rest of a forced
//     close) or without a block.
//   - Watermarks (package watermark, pure functions): a red/green scheme is a
//     Processor adding a keyed bias to the logits of the green tokens, which
//     it derives from the last tokens of Step.Output (Step.Prompt before the
//     output has enough); a Gumbel-max scheme is a Drawer choosing from the
//     final distribution by a keyed rule of the same history. Step.Greedy
//     tells a scheme that the request cannot carry a watermark.
//   - Scripted output in tests: a Processor that forces the tokens to write.
//
// The decode step allocates nothing per token beyond the token's text
// (TestSchedAllocs), processors included when they allocate nothing.
package engine
