// Package sample turns a vector of logits into the next token.
//
// A Sampler applies, in llama.cpp's default order, the penalties
// (repetition, presence, frequency), top-k, top-p, min-p and temperature, and
// then draws a token from the remaining distribution with a seeded PCG
// generator, so a given seed always yields the same tokens. Temperature <= 0
// selects the most likely token (greedy decoding). After the first call,
// Sample allocates nothing.
//
// Defaults are the parameters every qilin entry point starts from; Ranges
// (with Params.Validate and RangeOf) are the values the server and the CLI
// accept, with the messages they refuse others with. A Drawer
// (Sampler.SetDrawer) replaces the random draw with a rule of its own over
// the final distribution (a Gumbel-max watermark).
//
// TopLogprobs and Logprob report log-probabilities of the raw logits, as the
// OpenAI API's logprobs option returns them.
package sample
