package engine

import (
	"fmt"

	"github.com/qilin-ai/qilin/grammar"
	"github.com/qilin-ai/qilin/tokenizer"
)

// GrammarVocab returns the model's vocabulary as package grammar matches
// it: each token's bytes as the output renders them, end-of-generation
// tokens as grammar.TokenEOG, control and unknown tokens (which render as
// no text) as grammar.TokenSpecial. It is built on first use (a sort of
// the vocabulary) and kept, so that every grammar's tables for this model
// are shared by all its requests.
func (e *Engine) GrammarVocab() (*grammar.Vocab, error) {
	e.vocabOnce.Do(func() { e.vocab, e.vocabErr = grammarVocab(e.Tok) })
	return e.vocab, e.vocabErr
}

func grammarVocab(tok *tokenizer.Tokenizer) (*grammar.Vocab, error) {
	n := tok.VocabSize()
	pieces := make([][]byte, n)
	kinds := make([]grammar.TokenKind, n)
	special := tokenizer.DecodeOptions{SkipSpecial: true}
	for id := range n {
		pieces[id] = tok.Piece(id)
		switch {
		case tok.IsEOG(id):
			kinds[id] = grammar.TokenEOG
		case tok.TokenType(id) == tokenizer.TypeControl || tok.TokenType(id) == tokenizer.TypeUnknown ||
			tok.TokenType(id) == tokenizer.TypeUnused || len(tok.DecodeWith([]int{id}, special)) == 0:
			kinds[id] = grammar.TokenSpecial
		}
	}
	return grammar.NewVocab(pieces, kinds)
}

// Constrain returns a Processor that holds one request's answer to g (see
// the function Constrain): a fresh matcher of g over the model's
// vocabulary. It fails when g names a <token> the vocabulary lacks.
func (e *Engine) Constrain(g *grammar.Grammar) (Processor, error) {
	v, err := e.GrammarVocab()
	if err != nil {
		return nil, err
	}
	m, err := grammar.NewMatcher(g, v)
	if err != nil {
		return nil, fmt.Errorf("engine: grammar: %w", err)
	}
	return Constrain(m), nil
}
