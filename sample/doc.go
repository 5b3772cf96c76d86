// Package sample turns a vector of logits into the next token.
//
// A Sampler applies, in llama.cpp's default order, the penalties
// (repetition, presence, frequency), top-k, top-p, min-p and temperature, and
// then draws a token from the remaining distribution with a seeded PCG
// generator, so a given seed always yields the same tokens. Temperature <= 0
// selects the most likely token (greedy decoding). After the first call,
// Sample allocates nothing.
//
// TopLogprobs and Logprob report log-probabilities of the raw logits, as the
// OpenAI API's logprobs option returns them.
package sample
