package gguf

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// DefaultAlignment is the data alignment of a file without general.alignment.
const DefaultAlignment = 32

// MaxDims is the largest number of dimensions a tensor may have (ggml's
// GGML_MAX_DIMS).
const MaxDims = 4

// File is a parsed GGUF file. Its tensors' Data are views into memory owned
// by the File, valid until Close.
type File struct {
	// Version is the GGUF format version (2 or 3).
	Version uint32
	// KV holds the metadata in file order.
	KV []KV
	// Tensors lists the tensors in file order; for a split model, the
	// tensors of every part in part order.
	Tensors []*Tensor
	// Alignment is the data alignment in bytes (general.alignment, else 32).
	Alignment int
	// DataOffset is the position of the data section in the (first) file.
	DataOffset int64
	// Size is the total size in bytes of the file (of all parts for a split
	// model).
	Size int64

	kvIndex     map[string]int
	tensorIndex map[string]int
	closers     []func() error
	mapped      bool // tensor data is a memory mapping of the file
}

// KV is one metadata entry. Value is one of uint8, int8, uint16, int16,
// uint32, int32, uint64, int64, float32, float64, bool, string; a typed slice
// of one of those for an array; or []any (each element itself such a slice)
// for an array of arrays.
type KV struct {
	Key   string
	Value any
}

// Tensor describes one tensor and holds a view of its bytes.
type Tensor struct {
	// Name is the tensor's GGUF name, e.g. "blk.0.attn_q.weight".
	Name string
	// Type is the element type.
	Type quant.Type
	// Dims are the dimensions in ggml order: Dims[0] is the contiguous row
	// length, Dims[1] the number of rows, and so on.
	Dims []uint64
	// Offset is the position of the tensor's bytes within the data section
	// of the file (of its part, for a split model).
	Offset uint64
	// Data is a view of exactly the tensor's bytes. It must not be written
	// to when the file is memory-mapped.
	Data []byte
}

// NumElements returns the number of elements in t (the product of Dims).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Rows returns the number of rows of t: the product of Dims[1:].
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Dims[min(1, len(t.Dims)):] {
		n *= int(d)
	}
	return n
}

// String describes t as "name type [d0 d1 ...]".
func (t *Tensor) String() string {
	return fmt.Sprintf("%s %v %v", t.Name, t.Type, t.Dims)
}

// Close releases the memory behind the tensors' Data. It is safe to call
// more than once.
func (f *File) Close() error {
	var first error
	for _, c := range f.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	f.closers = nil
	return first
}

// Get returns the value of key and whether it is present.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// Tensor returns the tensor called name and whether it exists.
func (f *File) Tensor(name string) (*Tensor, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return f.Tensors[i], true
}

// String returns the string value of key, or def when it is absent or not a
// string.
func (f *File) String(key, def string) string {
	if v, ok := f.Get(key); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return def
}

// Uint returns the value of key, which may be of any integer type, or def
// when it is absent, not an integer, or negative.
func (f *File) Uint(key string, def uint64) uint64 {
	v, _ := f.Get(key)
	if u, ok := asUint(v); ok {
		return u
	}
	return def
}

// Int returns the value of key, which may be of any integer type, or def
// when it is absent, not an integer, or above math.MaxInt64.
func (f *File) Int(key string, def int64) int64 {
	v, _ := f.Get(key)
	if i, ok := asInt(v); ok {
		return i
	}
	return def
}

// Float returns the value of key, which may be of any numeric type, or def
// when it is absent or not a number.
func (f *File) Float(key string, def float64) float64 {
	v, _ := f.Get(key)
	if x, ok := asFloat(v); ok {
		return x
	}
	return def
}

// Bool returns the boolean value of key, or def when it is absent or not a
// bool.
func (f *File) Bool(key string, def bool) bool {
	if v, ok := f.Get(key); ok {
		if b, ok := v.(bool); ok {
			return b
		}
	}
	return def
}

// Strings returns the string array stored at key, or nil when it is absent
// or not a string array. The slice is shared: do not modify it.
func (f *File) Strings(key string) []string {
	v, _ := f.Get(key)
	s, _ := v.([]string)
	return s
}

// Float32s returns the numeric array stored at key as float32 (converting
// other numeric element types), or nil when it is absent or not a numeric
// array. A []float32 value is returned shared: do not modify it.
func (f *File) Float32s(key string) []float32 {
	v, _ := f.Get(key)
	if s, ok := v.([]float32); ok {
		return s
	}
	return convertSlice(v, func(x any) (float32, bool) {
		f, ok := asFloat(x)
		return float32(f), ok
	})
}

// Int32s returns the integer array stored at key as int32 (converting other
// integer element types), or nil when it is absent, not an integer array, or
// holds a value that does not fit in int32. A []int32 value is returned
// shared: do not modify it.
func (f *File) Int32s(key string) []int32 {
	v, _ := f.Get(key)
	if s, ok := v.([]int32); ok {
		return s
	}
	return convertSlice(v, func(x any) (int32, bool) {
		i, ok := asInt(x)
		return int32(i), ok && i >= math.MinInt32 && i <= math.MaxInt32
	})
}

// Arch returns general.architecture, e.g. "llama", or "" when absent.
func (f *File) Arch() string { return f.String("general.architecture", "") }

// ArchKey returns the architecture-specific key Arch()+"."+suffix, e.g.
// ArchKey("context_length") is "llama.context_length" for a llama model.
func (f *File) ArchKey(suffix string) string { return f.Arch() + "." + suffix }

// asUint converts any non-negative integer to uint64.
func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	}
	if i, ok := asSigned(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// asInt converts any integer that fits to int64.
func asInt(v any) (int64, bool) {
	if i, ok := asSigned(v); ok {
		return i, true
	}
	if u, ok := asUint(v); ok && u <= math.MaxInt64 {
		return int64(u), true
	}
	return 0, false
}

func asSigned(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// asFloat converts any numeric value to float64.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := asSigned(v); ok {
		return float64(i), true
	}
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	return 0, false
}

// convertSlice converts each element of the typed array v with conv, or
// returns nil when v is not an array or an element does not convert.
func convertSlice[T any](v any, conv func(any) (T, bool)) []T {
	var n int
	var at func(int) any
	switch s := v.(type) {
	case []uint8:
		n, at = len(s), func(i int) any { return s[i] }
	case []int8:
		n, at = len(s), func(i int) any { return s[i] }
	case []uint16:
		n, at = len(s), func(i int) any { return s[i] }
	case []int16:
		n, at = len(s), func(i int) any { return s[i] }
	case []uint32:
		n, at = len(s), func(i int) any { return s[i] }
	case []int32:
		n, at = len(s), func(i int) any { return s[i] }
	case []uint64:
		n, at = len(s), func(i int) any { return s[i] }
	case []int64:
		n, at = len(s), func(i int) any { return s[i] }
	case []float32:
		n, at = len(s), func(i int) any { return s[i] }
	case []float64:
		n, at = len(s), func(i int) any { return s[i] }
	default:
		return nil
	}
	out := make([]T, n)
	for i := range out {
		x, ok := conv(at(i))
		if !ok {
			return nil
		}
		out[i] = x
	}
	return out
}
