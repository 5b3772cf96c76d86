// Package watermark marks generated text with a secret key and tests text
// for that mark with exact p-values.
//
// A Key selects a scheme (Gumbel or RedGreen), a secret and a context width
// h. For each context window, the h tokens before a position, HMAC-SHA256
// under the secret gives a Window, and the Window gives every token id a
// uniform number u (see Window for the construction). While generating, a
// Marker turns these into the mark: Gumbel picks the candidate maximizing
// u^(1/p), which leaves the model's distribution unchanged; RedGreen adds
// Delta to the logits of the tokens with u < Gamma.
//
// Detect retokenizes nothing: it takes token ids, scores each distinct
// (window, token) pair once, and computes the probability that text made
// without the key scores as high: Gamma(n, 1) for Gumbel's sum of
// -ln(1-u), Binomial(n, Gamma) for RedGreen's green count, both exact in
// the far tail (LogGammaTail, LogBinomialTail). A localized search finds a
// marked stretch inside longer unmarked text, and the p-value is corrected
// for the spans and keys tried, so a detection at p < 1e-6 happens at most
// once in a million unmarked texts.
//
// The package is pure: it imports no model, engine or server code. The
// engine calls a Marker through its per-request hook.
package watermark
