package gguf

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// raw assembles GGUF bytes field by field, so tests can write what Writer
// refuses to.
type raw []byte

func (r raw) u32(v uint32) raw    { return binary.LittleEndian.AppendUint32(r, v) }
func (r raw) u64(v uint64) raw    { return binary.LittleEndian.AppendUint64(r, v) }
func (r raw) str(s string) raw    { return appendString(r, s) }
func (r raw) bytes(b ...byte) raw { return append(r, b...) }

// head starts a file: magic, version, tensor count, KV count.
func head(version uint32, nTensors, nKV uint64) raw {
	return raw(magic).u32(version).u64(nTensors).u64(nKV)
}

// tinfo appends a tensor description.
func (r raw) tinfo(name string, typ quant.Type, offset uint64, dims ...uint64) raw {
	r = r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r = r.u64(d)
	}
	return r.u32(uint32(typ)).u64(offset)
}

// pad appends zeros up to a multiple of 32, then n data bytes.
func (r raw) pad(n int) raw {
	r = append(r, make([]byte, int(alignUp(uint64(len(r)), 32))-len(r))...)
	return append(r, make([]byte, n)...)
}

func TestHostile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"empty", nil, "too short"},
		{"short", []byte("GG"), "too short"},
		{"bad magic", []byte("GGMLxxxxxxxxxxxxxxxxxxxx"), "bad magic"},
		{"version 1", head(1, 0, 0), "version 1 is unsupported"},
		{"version 0", head(0, 0, 0), "unsupported GGUF version 0"},
		{"version 4", head(4, 0, 0), "unsupported GGUF version 4"},
		{"big endian", head(3<<24, 0, 0), "big-endian"},
		{"truncated version", raw(magic).bytes(3), "truncated file: version"},
		{"truncated counts", raw(magic).u32(3).u64(0), "truncated file: metadata key/value count"},
		{"absurd KV count", head(3, 0, 1<<62), "metadata key/value count 4611686018427387904 is impossible"},
		{"absurd tensor count", head(3, 1<<40, 0), "tensor count 1099511627776 is impossible"},
		{"key length past end", head(3, 0, 1).u64(1 << 63).bytes(make([]byte, 20)...), "key length 9223372036854775808 past end"},
		{"string value past end", head(3, 0, 1).str("k").u32(uint32(typeString)).u64(100).bytes('x'), `"k": string length 100 past end`},
		{"truncated scalar", head(3, 0, 1).str("k").u32(uint32(typeUint64)).bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12).u32(0)[:37], "truncated file: uint64 value"},
		{"unknown value type", head(3, 0, 1).str("k").u32(13).u64(0), "unknown value type 13"},
		{"array of unknown type", head(3, 0, 1).str("k").u32(uint32(typeArray)).u32(77).u64(1), "array of unknown value type 77"},
		{"absurd array length", head(3, 0, 1).str("k").u32(uint32(typeArray)).u32(uint32(typeUint64)).u64(1 << 61).u64(0), "array length 2305843009213693952 is impossible"},
		{"absurd string array", head(3, 0, 1).str("k").u32(uint32(typeArray)).u32(uint32(typeString)).u64(1 << 40).u64(0), "array length 1099511627776 is impossible"},
		{"string in array past end", head(3, 0, 1).str("k").u32(uint32(typeArray)).u32(uint32(typeString)).u64(2).str("a").u64(1 << 50), "string 1 of array length"},
		{"truncated array", head(3, 0, 1).str("k").u32(uint32(typeArray)).u32(uint32(typeUint32)).u64(3).u32(1).u32(2), "array length 3 is impossible"},
		{"nested too deep", deepArray(maxArrayDepth + 1), "nested deeper"},
		{"duplicate key", head(3, 0, 2).str("k").u32(uint32(typeUint8)).bytes(1).str("k").u32(uint32(typeUint8)).bytes(2), `"k": duplicate key`},
		{"alignment not power of two", head(3, 0, 1).str("general.alignment").u32(uint32(typeUint32)).u32(48), "general.alignment 48"},
		{"alignment zero", head(3, 0, 1).str("general.alignment").u32(uint32(typeUint32)).u32(0), "general.alignment 0"},
		{"alignment huge", head(3, 0, 1).str("general.alignment").u32(uint32(typeUint64)).u64(1 << 40), "general.alignment 1099511627776"},
		{"alignment string", head(3, 0, 1).str("general.alignment").u32(uint32(typeString)).str("32"), "general.alignment 32 (string)"},
		{"too many dims", head(3, 1, 0).tinfo("w", quant.F32, 0, 1, 1, 1, 1, 1), `tensor "w": 5 dimensions`},
		{"absurd n_dims", head(3, 1, 0).str("w").u32(1 << 31).u64(0).u64(0), `tensor "w": 2147483648 dimensions`},
		{"dims overflow", head(3, 1, 0).tinfo("w", quant.F32, 0, 1<<32, 1<<32), "element count overflows"},
		{"dims overflow int64", head(3, 1, 0).tinfo("w", quant.I8, 0, 1<<63), "element count overflows"},
		{"byte size overflows", head(3, 1, 0).tinfo("w", quant.F64, 0, 1<<61), "byte size overflows"},
		{"unknown tensor type", head(3, 1, 0).tinfo("w", quant.Type(99), 0, 4), `tensor "w": unknown tensor type 99`},
		{"removed tensor type", head(3, 1, 0).tinfo("w", quant.Type(4), 0, 32), "unknown tensor type 4"},
		{"partial block", head(3, 1, 0).tinfo("w", quant.Q8_0, 0, 16, 2), "not a whole number of Q8_0 blocks"},
		{"truncated tensor info", head(3, 1, 0).tinfo("w", quant.F32, 0, 4)[:47], `tensor "w": truncated file: type`},
		{"duplicate tensor", head(3, 2, 0).tinfo("w", quant.F32, 0, 4).tinfo("w", quant.F32, 32, 4).pad(64), `tensor "w": duplicate tensor name`},
		{"no data section", head(3, 1, 0).tinfo("w", quant.F32, 0, 4).u32(0), "data section starts at offset 64, past end of file (61 bytes)"},
		{"tensor past end", head(3, 1, 0).tinfo("w", quant.F32, 0, 4).pad(15), `tensor "w": data [0, 0+16) past end of file`},
		{"offset past end", head(3, 1, 0).tinfo("w", quant.F32, 1<<63, 4).pad(64), `tensor "w": data [9223372036854775808, `},
		{"offset+size overflows", head(3, 1, 0).tinfo("w", quant.F32, 1<<64-32, 64).pad(64), "past end of file"},
		{"misaligned offset", head(3, 1, 0).tinfo("w", quant.F32, 4, 4).pad(64), "data offset 4 is not a multiple of the alignment 32"},
		{"overlap", head(3, 2, 0).tinfo("a", quant.F32, 0, 16).tinfo("b", quant.F32, 32, 4).pad(96), `tensors "a" and "b" overlap: [0, 64) and [32, 48)`},
		{"overlap contained", head(3, 3, 0).tinfo("a", quant.F32, 0, 32).tinfo("b", quant.F32, 32, 0).tinfo("c", quant.F32, 64, 4).pad(128), `tensors "a" and "c" overlap`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("parsed without error: %d KV, %d tensors", len(f.KV), len(f.Tensors))
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// deepArray is a file whose one value nests depth arrays.
func deepArray(depth int) raw {
	r := head(3, 0, 1).str("deep").u32(uint32(typeArray))
	for range depth - 1 {
		r = r.u32(uint32(typeArray)).u64(1)
	}
	return r.u32(uint32(typeUint8)).u64(1).bytes(7)
}

// TestHostileValid checks that the raw builder makes valid files when not
// told otherwise, so the failures above come from the one broken field.
func TestHostileValid(t *testing.T) {
	for name, data := range map[string]raw{
		"empty v2":      head(2, 0, 0),
		"deep ok":       deepArray(maxArrayDepth),
		"one tensor":    head(3, 1, 0).tinfo("w", quant.F32, 0, 4).pad(16),
		"zero dims":     head(3, 1, 0).tinfo("w", quant.F32, 0).pad(4),
		"empty tensors": head(3, 2, 0).tinfo("a", quant.F32, 0, 0).tinfo("b", quant.F32, 0, 4, 0).pad(0),
		"adjacent":      head(3, 2, 0).tinfo("a", quant.F32, 32, 8).tinfo("b", quant.F32, 0, 8).pad(64),
		"alignment u64": head(3, 0, 1).str("general.alignment").u32(uint32(typeUint64)).u64(64),
	} {
		if _, err := Parse(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestTruncations parses every prefix of a real small file: each must fail
// with an error unless it still holds all tensor data.
func TestTruncations(t *testing.T) {
	data := tinyFile(t)
	full, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	need := 0
	for _, tn := range full.Tensors {
		need = max(need, int(full.DataOffset)+int(tn.Offset)+len(tn.Data))
	}
	for n := range len(data) {
		_, err := Parse(data[:n])
		if n < need && err == nil {
			t.Errorf("prefix of %d bytes (of %d, data ends at %d) parsed", n, len(data), need)
		}
		if n >= need && err != nil {
			t.Errorf("prefix of %d bytes holding all tensor data: %v", n, err)
		}
	}
}
