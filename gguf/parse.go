package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/qilin-ai/qilin/quant"
)

// magic opens every GGUF file.
const magic = "GGUF"

// valueType numbers the metadata value types as the GGUF format does.
type valueType uint32

const (
	typeUint8   valueType = 0
	typeInt8    valueType = 1
	typeUint16  valueType = 2
	typeInt16   valueType = 3
	typeUint32  valueType = 4
	typeInt32   valueType = 5
	typeFloat32 valueType = 6
	typeBool    valueType = 7
	typeString  valueType = 8
	typeArray   valueType = 9
	typeUint64  valueType = 10
	typeInt64   valueType = 11
	typeFloat64 valueType = 12
)

// maxArrayDepth bounds the nesting of arrays of arrays.
const maxArrayDepth = 8

// maxAlignment bounds general.alignment.
const maxAlignment = 1 << 30

// maxReserve bounds the capacity reserved up front for a count read from
// the file; larger collections grow as their entries are read.
const maxReserve = 1 << 16

// Minimum encoded sizes, used to reject counts that the remaining bytes
// cannot possibly hold before anything is allocated for them.
const (
	minKVSize     = 8 + 4 + 1     // key length, value type, smallest value
	minTensorSize = 8 + 4 + 4 + 8 // name length, n_dims (0), type, offset
)

// fixedSize returns the encoded size of a scalar value type, or 0 for
// string, array and unknown types.
func (t valueType) fixedSize() int {
	switch t {
	case typeUint8, typeInt8, typeBool:
		return 1
	case typeUint16, typeInt16:
		return 2
	case typeUint32, typeInt32, typeFloat32:
		return 4
	case typeUint64, typeInt64, typeFloat64:
		return 8
	}
	return 0
}

// minSize returns the smallest encoded size of a value of type t, or 0 if t
// is not a known type.
func (t valueType) minSize() int {
	switch t {
	case typeString:
		return 8
	case typeArray:
		return 4 + 8
	}
	return t.fixedSize()
}

func (t valueType) String() string {
	names := [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Parse parses a whole GGUF file held in data. The returned File's tensor
// Data and nothing else alias data; Close is a no-op for it.
func Parse(data []byte) (*File, error) {
	return parse(data, "")
}

// parser decodes a GGUF header. Every read checks the remaining length.
type parser struct {
	b    []byte
	off  int
	name string // file name for errors, or ""
	ctx  string // what is being read, for errors
}

func (p *parser) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.ctx != "" {
		msg = p.ctx + ": " + msg
	}
	if p.name != "" {
		msg = p.name + ": " + msg
	}
	return fmt.Errorf("gguf: %s", msg)
}

func (p *parser) left() int { return len(p.b) - p.off }

// take returns the next n bytes, or an error naming what was being read.
func (p *parser) take(n int, what string) ([]byte, error) {
	if n < 0 || n > p.left() {
		return nil, p.errorf("truncated file: %s needs %d bytes at offset %d, only %d left", what, n, p.off, p.left())
	}
	b := p.b[p.off : p.off+n]
	p.off += n
	return b, nil
}

func (p *parser) u32(what string) (uint32, error) {
	b, err := p.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (p *parser) u64(what string) (uint64, error) {
	b, err := p.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// count reads a uint64 count of items of at least minSize bytes each and
// checks that the remaining bytes can hold them.
func (p *parser) count(what string, minSize int) (int, error) {
	n, err := p.u64(what)
	if err != nil {
		return 0, err
	}
	if n > uint64(p.left()/minSize) {
		return 0, p.errorf("%s %d is impossible: %d items of at least %d bytes cannot fit in the %d bytes left", what, n, n, minSize, p.left())
	}
	return int(n), nil
}

// strBytes reads a length-prefixed string and returns its bytes.
func (p *parser) strBytes(what string) ([]byte, error) {
	n, err := p.u64(what + " length")
	if err != nil {
		return nil, err
	}
	if n > uint64(p.left()) {
		return nil, p.errorf("%s length %d past end of file (%d bytes left at offset %d)", what, n, p.left(), p.off)
	}
	return p.take(int(n), what)
}

func (p *parser) str(what string) (string, error) {
	b, err := p.strBytes(what)
	return string(b), err
}

func parse(data []byte, name string) (*File, error) {
	p := &parser{b: data, name: name}
	if len(data) < len(magic) {
		return nil, p.errorf("file too short (%d bytes) to be GGUF", len(data))
	}
	if !bytes.Equal(data[:4], []byte(magic)) {
		return nil, p.errorf("bad magic %q: not a GGUF file", data[:4])
	}
	p.off = 4
	version, err := p.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 1:
		return nil, p.errorf("GGUF version 1 is unsupported (only versions 2 and 3 are read); convert the model again with a current llama.cpp")
	case version != 2 && version != 3 && (bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3):
		return nil, p.errorf("big-endian GGUF (version %d) is unsupported", bits.ReverseBytes32(version))
	case version != 2 && version != 3:
		return nil, p.errorf("unsupported GGUF version %d (only versions 2 and 3 are read)", version)
	}
	nTensors, err := p.count("tensor count", minTensorSize)
	if err != nil {
		return nil, err
	}
	nKV, err := p.count("metadata key/value count", minKVSize)
	if err != nil {
		return nil, err
	}
	// Counts were checked against the bytes left, but in a large file
	// those include the tensor data: reserve modestly and let the slices
	// grow as entries are actually read.
	f := &File{
		Version:     version,
		KV:          make([]KV, 0, min(nKV, maxReserve)),
		Alignment:   DefaultAlignment,
		Size:        int64(len(data)),
		kvIndex:     make(map[string]int, min(nKV, maxReserve)),
		tensorIndex: make(map[string]int, min(nTensors, maxReserve)),
	}
	for i := range nKV {
		p.ctx = fmt.Sprintf("metadata entry %d", i)
		key, err := p.str("key")
		if err != nil {
			return nil, err
		}
		p.ctx = fmt.Sprintf("metadata %q", key)
		if _, dup := f.kvIndex[key]; dup {
			return nil, p.errorf("duplicate key")
		}
		t, err := p.u32("value type")
		if err != nil {
			return nil, err
		}
		v, err := p.value(valueType(t), 0)
		if err != nil {
			return nil, err
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	p.ctx = ""
	if v, ok := f.Get("general.alignment"); ok {
		a, ok := asUint(v)
		if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
			return nil, p.errorf("general.alignment %v (%T) is not a power of two up to %d", v, v, maxAlignment)
		}
		f.Alignment = int(a)
	}
	if err := p.tensorInfos(f, nTensors); err != nil {
		return nil, err
	}
	p.ctx = ""
	if err := p.bindData(f); err != nil {
		return nil, err
	}
	return f, nil
}

// value reads one metadata value of type t.
func (p *parser) value(t valueType, depth int) (any, error) {
	if t == typeString {
		return p.str("string")
	}
	if t == typeArray {
		return p.array(depth)
	}
	n := t.fixedSize()
	if n == 0 {
		return nil, p.errorf("unknown value type %d", uint32(t))
	}
	b, err := p.take(n, t.String()+" value")
	if err != nil {
		return nil, err
	}
	return scalar(t, b), nil
}

// scalar decodes a fixed-size value of type t from b.
func scalar(t valueType, b []byte) any {
	le := binary.LittleEndian
	switch t {
	case typeUint8:
		return b[0]
	case typeInt8:
		return int8(b[0])
	case typeBool:
		return b[0] != 0
	case typeUint16:
		return le.Uint16(b)
	case typeInt16:
		return int16(le.Uint16(b))
	case typeUint32:
		return le.Uint32(b)
	case typeInt32:
		return int32(le.Uint32(b))
	case typeFloat32:
		return math.Float32frombits(le.Uint32(b))
	case typeUint64:
		return le.Uint64(b)
	case typeInt64:
		return int64(le.Uint64(b))
	case typeFloat64:
		return math.Float64frombits(le.Uint64(b))
	}
	panic("gguf: scalar of non-scalar type " + t.String())
}

// array reads an array value: element type, count, elements.
func (p *parser) array(depth int) (any, error) {
	if depth >= maxArrayDepth {
		return nil, p.errorf("arrays nested deeper than %d", maxArrayDepth)
	}
	et, err := p.u32("array element type")
	if err != nil {
		return nil, err
	}
	t := valueType(et)
	size := t.minSize()
	if size == 0 {
		return nil, p.errorf("array of unknown value type %d", et)
	}
	n, err := p.count("array length", size)
	if err != nil {
		return nil, err
	}
	switch t {
	case typeString:
		return p.stringArray(n)
	case typeArray:
		out := make([]any, 0, min(n, maxReserve))
		for range n {
			a, err := p.array(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	b, err := p.take(n*size, "array")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch t {
	case typeUint8:
		return slices.Clone(b), nil
	case typeInt8:
		return decodeArray(b, 1, func(b []byte) int8 { return int8(b[0]) }), nil
	case typeBool:
		return decodeArray(b, 1, func(b []byte) bool { return b[0] != 0 }), nil
	case typeUint16:
		return decodeArray(b, 2, le.Uint16), nil
	case typeInt16:
		return decodeArray(b, 2, func(b []byte) int16 { return int16(le.Uint16(b)) }), nil
	case typeUint32:
		return decodeArray(b, 4, le.Uint32), nil
	case typeInt32:
		return decodeArray(b, 4, func(b []byte) int32 { return int32(le.Uint32(b)) }), nil
	case typeFloat32:
		return decodeArray(b, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }), nil
	case typeUint64:
		return decodeArray(b, 8, le.Uint64), nil
	case typeInt64:
		return decodeArray(b, 8, func(b []byte) int64 { return int64(le.Uint64(b)) }), nil
	default: // typeFloat64
		return decodeArray(b, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }), nil
	}
}

// decodeArray decodes consecutive size-byte elements of b.
func decodeArray[T any](b []byte, size int, dec func([]byte) T) []T {
	out := make([]T, len(b)/size)
	for i := range out {
		out[i] = dec(b[i*size:])
	}
	return out
}

// stringArray reads n strings. It validates them all first and then copies
// the whole span once, so that a vocabulary of 150k tokens costs two
// allocations instead of 150k.
func (p *parser) stringArray(n int) ([]string, error) {
	start := p.off
	for i := range n {
		if _, err := p.strBytes(fmt.Sprintf("string %d of array", i)); err != nil {
			return nil, err
		}
	}
	span := string(p.b[start:p.off])
	out := make([]string, n)
	off := 0
	for i := range out {
		l := int(binary.LittleEndian.Uint64(p.b[start+off:]))
		out[i] = span[off+8 : off+8+l]
		off += 8 + l
	}
	return out, nil
}

// tensorInfos reads the n tensor descriptions.
func (p *parser) tensorInfos(f *File, n int) error {
	f.Tensors = make([]*Tensor, 0, min(n, maxReserve))
	for i := range n {
		p.ctx = fmt.Sprintf("tensor %d", i)
		name, err := p.str("name")
		if err != nil {
			return err
		}
		p.ctx = fmt.Sprintf("tensor %q", name)
		if _, dup := f.tensorIndex[name]; dup {
			return p.errorf("duplicate tensor name")
		}
		nDims, err := p.u32("n_dims")
		if err != nil {
			return err
		}
		if nDims > MaxDims {
			return p.errorf("%d dimensions, at most %d are allowed", nDims, MaxDims)
		}
		dims := make([]uint64, nDims)
		for d := range dims {
			if dims[d], err = p.u64("dimension"); err != nil {
				return err
			}
		}
		typ, err := p.u32("type")
		if err != nil {
			return err
		}
		off, err := p.u64("data offset")
		if err != nil {
			return err
		}
		t := &Tensor{Name: name, Type: quant.Type(typ), Dims: dims, Offset: off}
		if _, err := dataSize(t); err != nil {
			return p.errorf("%v", err)
		}
		f.tensorIndex[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	return nil
}

// dataSize returns the number of bytes of t's data, checking its type and
// dimensions: a known type, a row length that is a whole number of blocks,
// and no overflow.
func dataSize(t *Tensor) (uint64, error) {
	if !t.Type.Known() {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t.Type))
	}
	if len(t.Dims) > MaxDims {
		return 0, fmt.Errorf("%d dimensions, at most %d are allowed", len(t.Dims), MaxDims)
	}
	n := uint64(1)
	for _, d := range t.Dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("dimensions %v: element count overflows", t.Dims)
		}
		n = lo
	}
	row := uint64(1)
	if len(t.Dims) > 0 {
		row = t.Dims[0]
	}
	if row/uint64(t.Type.BlockLen()) > math.MaxInt64/uint64(t.Type.BlockSize()) {
		return 0, fmt.Errorf("dimensions %v: byte size overflows", t.Dims)
	}
	rowSize, err := t.Type.RowSize(int(row))
	if err != nil {
		return 0, fmt.Errorf("dimensions %v: row of %d elements is not a whole number of %v blocks of %d", t.Dims, row, t.Type, t.Type.BlockLen())
	}
	rows := uint64(1)
	if row != 0 {
		rows = n / row
	}
	hi, size := bits.Mul64(uint64(rowSize), rows)
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("dimensions %v: byte size overflows", t.Dims)
	}
	return size, nil
}

// bindData locates the data section after the header and points each
// tensor's Data at its bytes, checking alignment, bounds and overlap.
func (p *parser) bindData(f *File) error {
	a := uint64(f.Alignment)
	start := (uint64(p.off) + a - 1) / a * a
	f.DataOffset = int64(start)
	if len(f.Tensors) == 0 {
		return nil
	}
	if start > uint64(len(p.b)) {
		return p.errorf("truncated file: data section starts at offset %d, past end of file (%d bytes)", start, len(p.b))
	}
	data := p.b[start:]
	ends := make([]uint64, len(f.Tensors))
	for i, t := range f.Tensors {
		size, _ := dataSize(t) // checked in tensorInfos
		if t.Offset%a != 0 {
			return p.errorf("tensor %q: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, a)
		}
		if t.Offset > uint64(len(data)) || size > uint64(len(data))-t.Offset {
			return p.errorf("tensor %q: data [%d, %d+%d) past end of file (data section holds %d bytes from offset %d)", t.Name, t.Offset, t.Offset, size, len(data), start)
		}
		ends[i] = t.Offset + size
		t.Data = data[t.Offset:ends[i]:ends[i]]
	}
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmpUint(f.Tensors[i].Offset, f.Tensors[j].Offset)
	})
	// Sorted by offset, a tensor overlaps an earlier one exactly when it
	// starts before the furthest end seen so far.
	last := order[0]
	for _, cur := range order[1:] {
		if ends[cur] == f.Tensors[cur].Offset {
			continue // no bytes, nothing to overlap
		}
		if f.Tensors[cur].Offset < ends[last] {
			return p.errorf("tensors %q and %q overlap: [%d, %d) and [%d, %d)", f.Tensors[last].Name, f.Tensors[cur].Name,
				f.Tensors[last].Offset, ends[last], f.Tensors[cur].Offset, ends[cur])
		}
		if ends[cur] > ends[last] {
			last = cur
		}
	}
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
