package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/quant"
)

// Writer builds a GGUF version 3 file from metadata and tensors. The zero
// value is not usable; call NewWriter.
type Writer struct {
	kv      []KV
	kvIndex map[string]int
	tensors []*Tensor
	names   map[string]bool
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// SetKV sets key to value, replacing an earlier value in place (keys keep
// the order in which they were first set). value is one of the types listed
// on KV; in addition a plain int or uint is written as a 32-bit integer when
// it fits and a 64-bit one otherwise, and []int or []uint likewise. An
// unsupported type is reported by WriteTo.
func (w *Writer) SetKV(key string, value any) {
	value = normalize(value)
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = value
		return
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Value: value})
}

// AddTensor adds a tensor of type t with dimensions dims in ggml order
// (dims[0] is the row length) whose bytes are data. data is not copied and
// must stay unchanged until the file is written.
func (w *Writer) AddTensor(name string, t quant.Type, dims []uint64, data []byte) error {
	if w.names[name] {
		return fmt.Errorf("gguf: tensor %q added twice", name)
	}
	tn := &Tensor{Name: name, Type: t, Dims: append([]uint64(nil), dims...), Data: data}
	size, err := dataSize(tn)
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %v", name, err)
	}
	if uint64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %v %v needs %d", name, len(data), t, dims, size)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, tn)
	return nil
}

// alignment returns general.alignment if set, else DefaultAlignment.
func (w *Writer) alignment() (uint64, error) {
	i, ok := w.kvIndex["general.alignment"]
	if !ok {
		return DefaultAlignment, nil
	}
	v := w.kv[i].Value
	a, ok := asUint(v)
	if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
		return 0, fmt.Errorf("gguf: general.alignment %v (%T) is not a power of two up to %d", v, v, maxAlignment)
	}
	return a, nil
}

// WriteTo writes the file to out and returns the number of bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	align, err := w.alignment()
	if err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	h := []byte(magic)
	h = le.AppendUint32(h, 3)
	h = le.AppendUint64(h, uint64(len(w.tensors)))
	h = le.AppendUint64(h, uint64(len(w.kv)))
	for _, kv := range w.kv {
		h = appendString(h, kv.Key)
		t, err := typeOf(kv.Value, 0)
		if err != nil {
			return 0, fmt.Errorf("gguf: key %q: %v", kv.Key, err)
		}
		h = le.AppendUint32(h, uint32(t))
		h = appendValue(h, kv.Value)
	}
	offset := uint64(0)
	for _, t := range w.tensors {
		h = appendString(h, t.Name)
		h = le.AppendUint32(h, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			h = le.AppendUint64(h, d)
		}
		h = le.AppendUint32(h, uint32(t.Type))
		h = le.AppendUint64(h, offset)
		offset = alignUp(offset+uint64(len(t.Data)), align)
	}
	if len(w.tensors) > 0 {
		// The data section starts aligned; a file without tensors has none.
		h = append(h, make([]byte, alignUp(uint64(len(h)), align)-uint64(len(h)))...)
	}

	bw := bufio.NewWriterSize(out, 1<<20)
	n, err := bw.Write(h)
	total := int64(n)
	zeros := make([]byte, align)
	for _, t := range w.tensors {
		if err != nil {
			break
		}
		n, err = bw.Write(t.Data)
		total += int64(n)
		if pad := alignUp(uint64(len(t.Data)), align) - uint64(len(t.Data)); err == nil && pad > 0 {
			n, err = bw.Write(zeros[:pad])
			total += int64(n)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return total, fmt.Errorf("gguf: write: %w", err)
	}
	return total, nil
}

// WriteFile writes the file to path atomically: to a temporary file in the
// same directory, which is then renamed over path.
func (w *Writer) WriteFile(path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = w.WriteTo(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// normalize maps plain int and uint values and slices to the sized types
// GGUF stores.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int32(x)
		}
		return int64(x)
	case uint:
		if x <= math.MaxUint32 {
			return uint32(x)
		}
		return uint64(x)
	case []int:
		for _, e := range x {
			if e < math.MinInt32 || e > math.MaxInt32 {
				return convertAll(x, func(e int) int64 { return int64(e) })
			}
		}
		return convertAll(x, func(e int) int32 { return int32(e) })
	case []uint:
		for _, e := range x {
			if e > math.MaxUint32 {
				return convertAll(x, func(e uint) uint64 { return uint64(e) })
			}
		}
		return convertAll(x, func(e uint) uint32 { return uint32(e) })
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func convertAll[S, T any](s []S, conv func(S) T) []T {
	out := make([]T, len(s))
	for i, e := range s {
		out[i] = conv(e)
	}
	return out
}

// typeOf returns the GGUF value type of v, checking that v (and every
// element of an array of arrays) is of a supported type.
func typeOf(v any, depth int) (valueType, error) {
	switch x := v.(type) {
	case uint8:
		return typeUint8, nil
	case int8:
		return typeInt8, nil
	case uint16:
		return typeUint16, nil
	case int16:
		return typeInt16, nil
	case uint32:
		return typeUint32, nil
	case int32:
		return typeInt32, nil
	case uint64:
		return typeUint64, nil
	case int64:
		return typeInt64, nil
	case float32:
		return typeFloat32, nil
	case float64:
		return typeFloat64, nil
	case bool:
		return typeBool, nil
	case string:
		return typeString, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64,
		[]float32, []float64, []bool, []string:
		return typeArray, nil
	case []any:
		if depth+1 >= maxArrayDepth {
			return 0, fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
		}
		for i, e := range x {
			t, err := typeOf(e, depth+1)
			if err != nil {
				return 0, fmt.Errorf("element %d: %v", i, err)
			}
			if t != typeArray {
				return 0, fmt.Errorf("element %d: []any holds arrays only, not %T", i, e)
			}
		}
		return typeArray, nil
	}
	return 0, fmt.Errorf("unsupported value type %T", v)
}

// appendValue appends the encoding of v, whose type typeOf accepted,
// without its type tag.
func appendValue(b []byte, v any) []byte {
	le := binary.LittleEndian
	switch x := v.(type) {
	case uint8:
		return append(b, x)
	case int8:
		return append(b, byte(x))
	case bool:
		if x {
			return append(b, 1)
		}
		return append(b, 0)
	case uint16:
		return le.AppendUint16(b, x)
	case int16:
		return le.AppendUint16(b, uint16(x))
	case uint32:
		return le.AppendUint32(b, x)
	case int32:
		return le.AppendUint32(b, uint32(x))
	case float32:
		return le.AppendUint32(b, math.Float32bits(x))
	case uint64:
		return le.AppendUint64(b, x)
	case int64:
		return le.AppendUint64(b, uint64(x))
	case float64:
		return le.AppendUint64(b, math.Float64bits(x))
	case string:
		return appendString(b, x)
	case []uint8:
		return appendArray(b, typeUint8, x)
	case []int8:
		return appendArray(b, typeInt8, x)
	case []uint16:
		return appendArray(b, typeUint16, x)
	case []int16:
		return appendArray(b, typeInt16, x)
	case []uint32:
		return appendArray(b, typeUint32, x)
	case []int32:
		return appendArray(b, typeInt32, x)
	case []uint64:
		return appendArray(b, typeUint64, x)
	case []int64:
		return appendArray(b, typeInt64, x)
	case []float32:
		return appendArray(b, typeFloat32, x)
	case []float64:
		return appendArray(b, typeFloat64, x)
	case []bool:
		return appendArray(b, typeBool, x)
	case []string:
		return appendArray(b, typeString, x)
	case []any:
		return appendArray(b, typeArray, x)
	}
	panic(fmt.Sprintf("gguf: appendValue of unchecked type %T", v))
}

// appendArray appends an array header (element type, count) and elements.
func appendArray[T any](b []byte, et valueType, s []T) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(et))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	for _, e := range s {
		b = appendValue(b, e)
	}
	return b
}
