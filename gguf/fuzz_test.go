package gguf

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var genCorpus = flag.Bool("gencorpus", false, "regenerate gguf/testdata/fuzz/FuzzParse from tinyFile")

// FuzzParse checks that Parse never panics, and that whatever it accepts
// has in-bounds tensor views and survives a write/parse round trip.
func FuzzParse(f *testing.F) {
	f.Add(tinyFile(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if file != nil {
				t.Fatalf("Parse returned a File and error %v", err)
			}
			return
		}
		w := NewWriter()
		for _, kv := range file.KV {
			w.SetKV(kv.Key, kv.Value)
		}
		for _, tn := range file.Tensors {
			size, err := dataSize(tn)
			if err != nil || uint64(len(tn.Data)) != size {
				t.Fatalf("tensor %v accepted with %d bytes, size %d, %v", tn, len(tn.Data), size, err)
			}
			if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
				t.Fatalf("parsed tensor refused by Writer: %v", err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("rewriting a parsed file: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("parsing a rewritten file: %v", err)
		}
		opts := []cmp.Option{cmpopts.EquateNaNs(), cmpopts.IgnoreFields(Tensor{}, "Offset")}
		if diff := cmp.Diff(file.KV, again.KV, opts...); diff != "" {
			t.Fatalf("KV changed in round trip (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(file.Tensors, again.Tensors, opts...); diff != "" {
			t.Fatalf("tensors changed in round trip (-first +second):\n%s", diff)
		}
	})
}

// TestFuzzCorpus regenerates the committed seed corpus with -gencorpus:
// truncations of tinyFile at offsets inside the header, the metadata, the
// tensor infos and the data, plus a few corrupted headers.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if !*genCorpus {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) < 50 {
			t.Fatalf("seed corpus %s missing or small (%d entries, %v); run go test -run TestFuzzCorpus -gencorpus ./gguf/", dir, len(entries), err)
		}
		return
	}
	data := tinyFile(t)
	file, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{"full": data}
	// Header bytes one by one, then a spread across the rest.
	cuts := []int{}
	for n := 0; n <= 26; n++ {
		cuts = append(cuts, n)
	}
	for n := 27; n < len(data); n += max(1, len(data)/80) {
		cuts = append(cuts, n)
	}
	// Exactly at the start of the data section and of each tensor's data.
	cuts = append(cuts, int(file.DataOffset)-1, int(file.DataOffset))
	for _, tn := range file.Tensors {
		o := int(file.DataOffset) + int(tn.Offset)
		cuts = append(cuts, o, o+len(tn.Data)-1)
	}
	for _, n := range cuts {
		seeds[fmt.Sprintf("trunc-%05d", n)] = data[:n]
	}
	corrupt := func(off int, b ...byte) []byte {
		c := bytes.Clone(data)
		copy(c[off:], b)
		return c
	}
	seeds["version1"] = corrupt(4, 1, 0, 0, 0)
	seeds["version2"] = corrupt(4, 2, 0, 0, 0)
	seeds["huge-tensor-count"] = corrupt(8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	seeds["huge-kv-count"] = corrupt(16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	seeds["huge-key-length"] = corrupt(24, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	seeds["bad-magic"] = corrupt(0, 'G', 'G', 'M', 'L')
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d seeds to %s", len(seeds), dir)
}
