package quantize

import (
	"context"
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// QuantizationVersion is the value of general.quantization_version that
// files with today's block layouts carry (ggml's GGML_QNT_VERSION).
const QuantizationVersion = 2

// Options configures File.
type Options struct {
	// Type is the recipe to apply.
	Type FileType
	// AllowRequantize permits converting tensors that are already in a
	// block format (losing accuracy twice); otherwise such a source is an
	// error. F16 and BF16 sources are always accepted.
	AllowRequantize bool
	// Threads is the number of goroutines converting rows; 0 means all CPUs.
	Threads int
}

// TensorChange reports what File did with one tensor.
type TensorChange struct {
	Name     string
	From, To quant.Type
	InBytes  int64
	OutBytes int64
}

// Result summarizes a File call.
type Result struct {
	Tensors  []TensorChange // in the order written
	InBytes  int64          // tensor bytes read
	OutBytes int64          // tensor bytes written
}

// splitKeys are the metadata of a split model's parts, which a single
// output file must not carry.
var splitKeys = map[string]bool{"split.no": true, "split.count": true, "split.tensors.count": true}

// File writes the tensors and metadata of in to path with the tensor types
// opts.Type assigns, as llama-quantize does: all metadata is copied, then
// general.quantization_version and general.file_type are set; tensors are
// written in llama.cpp's order. Nothing is left at path on error, including
// cancellation of ctx.
func File(ctx context.Context, in *gguf.File, path string, opts Options) (*Result, error) {
	infos := make([]TensorInfo, len(in.Tensors))
	for i, t := range in.Tensors {
		infos[i] = TensorInfo{Name: t.Name, Type: t.Type, Dims: t.Dims}
	}
	types, err := PlanTensors(opts.Type, ModelFromGGUF(in), infos)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var outs []OutTensor
	for _, i := range llamaOrder(infos) {
		src, to := in.Tensors[i], types[i]
		if err := checkConversion(src, to, opts.AllowRequantize); err != nil {
			return nil, err
		}
		ot := OutTensor{Name: src.Name, Type: to, Dims: src.Dims}
		rb, rows, err := ot.rowBytes()
		if err != nil {
			return nil, err
		}
		ot.Fill = converter(ctx, src, to)
		outs = append(outs, ot)
		res.Tensors = append(res.Tensors, TensorChange{
			Name: src.Name, From: src.Type, To: to, InBytes: int64(len(src.Data)), OutBytes: int64(rb) * int64(rows),
		})
		res.InBytes += int64(len(src.Data))
		res.OutBytes += int64(rb) * int64(rows)
	}
	var kv []gguf.KV
	for _, e := range in.KV {
		if !splitKeys[e.Key] && e.Key != "general.quantization_version" && e.Key != "general.file_type" {
			kv = append(kv, e)
		}
	}
	kv = append(kv,
		gguf.KV{Key: "general.quantization_version", Value: uint32(QuantizationVersion)},
		gguf.KV{Key: "general.file_type", Value: uint32(opts.Type)})
	if err := WriteGGUF(path, kv, outs, opts.Threads); err != nil {
		return nil, err
	}
	return res, nil
}

// checkConversion refuses what File cannot or should not do with src.
func checkConversion(src *gguf.Tensor, to quant.Type, allowRequantize bool) error {
	if src.Type == to {
		return nil
	}
	switch {
	case src.Type != quant.F32 && src.Type != quant.F16 && src.Type != quant.BF16 && !allowRequantize:
		return fmt.Errorf("quantize: tensor %s is already quantized (%s); converting it to %s loses accuracy twice (allow it with --allow-requantize)",
			src.Name, src.Type, to)
	case !quant.Supported(src.Type):
		return fmt.Errorf("quantize: tensor %s: cannot decode type %s", src.Name, src.Type)
	case !quant.Supported(to):
		return fmt.Errorf("quantize: tensor %s: cannot encode type %s", src.Name, to)
	}
	return nil
}

// converter returns the Fill function that produces rows of src as type to.
func converter(ctx context.Context, src *gguf.Tensor, to quant.Type) func(lo, hi int, dst []byte) error {
	cols := int(src.Dims[0])
	srb, _ := src.Type.RowSize(cols) // validated when the file was parsed
	if src.Type == to {
		return func(lo, hi int, dst []byte) error {
			copy(dst, src.Data[lo*srb:hi*srb])
			return ctx.Err()
		}
	}
	return func(lo, hi int, dst []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := make([]float32, (hi-lo)*cols) // rows [lo, hi) as float32
		if err := quant.Dequantize(src.Type, src.Data[lo*srb:hi*srb], f); err != nil {
			return err
		}
		for j, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("row %d holds a non-finite value %v", lo+j/cols, v)
			}
		}
		return quant.Quantize(to, f, dst)
	}
}
