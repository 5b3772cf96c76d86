package grammar

import "testing"

func TestSanity(t *testing.T) {
	g, err := Parse(`root ::= "{" ws "\"a\"" ws ":" ws [0-9]+ ws "}"
ws ::= [ \t]{0,3}`)
	if err != nil {
		t.Fatal(err)
	}
	pieces := [][]byte{[]byte("{"), []byte("\"a\""), []byte(":"), []byte("1"), []byte("23"), []byte("}"), []byte(" "), []byte("x"), []byte("\":"), []byte("{\""), []byte("a\":1}"), nil}
	kinds := make([]TokenKind, len(pieces))
	kinds[len(kinds)-1] = TokenEOG
	v, err := NewVocab(pieces, kinds)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(g, v)
	if err != nil {
		t.Fatal(err)
	}
	mask := make([]uint64, v.MaskWords())
	for _, tok := range []int{9, 10, 11} {
		m.Mask(mask)
		t.Logf("mask %b canEnd %v", mask[0], m.CanEnd())
		if err := m.Accept(tok); err != nil {
			t.Fatal(err)
		}
	}
	t.Log(m.Done())
}
