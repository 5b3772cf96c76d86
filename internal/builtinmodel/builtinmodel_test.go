package builtinmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestEmbeddedFile(t *testing.T) {
	sum := sha256.Sum256(file)
	if got := hex.EncodeToString(sum[:]); got != SHA256 {
		t.Errorf("SHA-256 of the embedded %s = %s, want %s", FileName, got, SHA256)
	}
	f, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Arch(); got != Arch {
		t.Errorf("architecture %q, want %s", got, Arch)
	}
	for _, tn := range f.Tensors {
		if got := tn.Type.String(); got != Quant {
			t.Errorf("tensor %s is %s, want %s", tn.Name, got, Quant)
		}
	}
	if f.Size != Size() {
		t.Errorf("parsed size %d, embedded %d bytes", f.Size, Size())
	}
	if src := f.String("tokenizer.chat_template", ""); src != "" {
		t.Errorf("the built-in model has a chat template; Description says it has none")
	}
}
