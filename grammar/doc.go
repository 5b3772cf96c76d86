// Package grammar constrains generation to a grammar: it compiles GBNF
// grammars (llama.cpp's format) and JSON Schemas to byte-level automata and
// computes, token by token, which tokens of a model's vocabulary may come
// next.
//
// # Use
//
// Compile once per grammar text, and keep the Grammar:
//
//	g, err := grammar.Parse(gbnf)            // root rule: "root"
//	g, err := grammar.FromJSONSchema(schema) // a *SchemaError names an unsupported keyword
//	src, err := grammar.SchemaToGBNF(schema) // the GBNF a schema compiles to
//
// Build one Vocab per tokenizer and keep it (it sorts the vocabulary):
//
//	pieces := make([][]byte, tok.VocabSize())
//	kinds := make([]grammar.TokenKind, tok.VocabSize())
//	for id := range pieces {
//		pieces[id] = tok.Piece(id)
//		switch {
//		case tok.IsEOG(id):
//			kinds[id] = grammar.TokenEOG
//		case tok.TokenType(id) == tokenizer.TypeControl:
//			kinds[id] = grammar.TokenSpecial
//		}
//	}
//	v, err := grammar.NewVocab(pieces, kinds)
//
// A server keeps compiled grammars in a Cache (by kind and source text);
// SchemasToGBNF compiles several schemas into the rules of one grammar
// whose root the caller writes (a tool call's wire form around each
// tool's arguments, say).
//
// Per request, a Matcher; per decode step, a mask and then the chosen
// token:
//
//	m, err := grammar.NewMatcher(g, v)
//	mask := make([]uint64, v.MaskWords())
//	for !m.Done() {
//		m.Mask(mask)                  // bit id set: token id allowed
//		grammar.ApplyMask(logits, mask)
//		id := sample(logits)
//		if err := m.Accept(id); err != nil { ... } // cannot fail for an id the mask allowed
//		if isEOG(id) { break }
//	}
//
// End-of-generation tokens are allowed exactly when CanEnd; Done means only
// ending is left (the engine should stop, or force an EOG token). Allows
// checks one token without a mask, for samplers that try the unconstrained
// choice first and mask only when it is refused: by the chain rule this
// gives the same distribution as masking first.
//
// # How masks are computed
//
// A matcher state is a set of stacks of DFA nodes (one DFA per rule; small
// non-recursive rules are inlined into their callers). For each node the
// tokens are split once, by a walk of a byte trie of the vocabulary, into
// those the node's own frame accepts whatever lies beneath it, those it
// rejects, and the subtrees of the trie where a token runs past the end of
// the frame. A state's mask is then the union of its top nodes' accepted
// sets plus a walk of only those subtrees against the real stacks; masks
// are also cached per state (by content), so that a state met again, by
// this or any later request, costs one lookup and a copy. Tokens are
// matched on bytes, so a token may end inside a UTF-8 character or span
// several terminals and rules.
//
// # GBNF
//
// Rules "name ::= alternatives", alternatives separated by "|", sequences
// of "literal", [class] / [^class] (ranges a-z; escapes \x.. \u.... \U........
// \t \r \n \\ \" \[ \] \-), "." (any character), rule names, ( groups ),
// <[id]> / <token-text> (one whole token) and !<...> (any one token but
// that), each optionally repeated by *, +, ?, {m}, {m,} or {m,n}; "#"
// comments. Names may also hold "_". Left recursion is refused, as in
// llama.cpp.
package grammar
