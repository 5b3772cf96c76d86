package quantize

import (
	"fmt"
	"strings"

	"github.com/qilin-ai/qilin/quant"
)

// FileType is a whole-file quantization recipe, numbered as llama.cpp's
// llama_ftype and stored in general.file_type.
type FileType uint32

// The recipes this package implements (llama.cpp's LLAMA_FTYPE_* values).
// The _S, _M and _L variants of a K-quant share a base type and differ in
// which tensors get more bits.
const (
	F32    FileType = 0
	F16    FileType = 1
	Q4_0   FileType = 2
	Q4_1   FileType = 3
	Q8_0   FileType = 7
	Q5_0   FileType = 8
	Q5_1   FileType = 9
	Q2_K   FileType = 10
	Q3_K_S FileType = 11
	Q3_K_M FileType = 12
	Q3_K_L FileType = 13
	Q4_K_S FileType = 14
	Q4_K_M FileType = 15
	Q5_K_S FileType = 16
	Q5_K_M FileType = 17
	Q6_K   FileType = 18
	BF16   FileType = 32
)

type ftypeInfo struct {
	name string
	base quant.Type
}

// fileTypes lists the recipes in the order they are offered to users.
var fileTypes = []struct {
	ft FileType
	ftypeInfo
}{
	{Q4_K_M, ftypeInfo{"Q4_K_M", quant.Q4_K}},
	{Q4_K_S, ftypeInfo{"Q4_K_S", quant.Q4_K}},
	{Q5_K_M, ftypeInfo{"Q5_K_M", quant.Q5_K}},
	{Q5_K_S, ftypeInfo{"Q5_K_S", quant.Q5_K}},
	{Q6_K, ftypeInfo{"Q6_K", quant.Q6_K}},
	{Q8_0, ftypeInfo{"Q8_0", quant.Q8_0}},
	{Q4_0, ftypeInfo{"Q4_0", quant.Q4_0}},
	{Q4_1, ftypeInfo{"Q4_1", quant.Q4_1}},
	{Q5_0, ftypeInfo{"Q5_0", quant.Q5_0}},
	{Q5_1, ftypeInfo{"Q5_1", quant.Q5_1}},
	{Q3_K_M, ftypeInfo{"Q3_K_M", quant.Q3_K}},
	{Q3_K_S, ftypeInfo{"Q3_K_S", quant.Q3_K}},
	{Q3_K_L, ftypeInfo{"Q3_K_L", quant.Q3_K}},
	{Q2_K, ftypeInfo{"Q2_K", quant.Q2_K}},
	{F16, ftypeInfo{"F16", quant.F16}},
	{BF16, ftypeInfo{"BF16", quant.BF16}},
	{F32, ftypeInfo{"F32", quant.F32}},
}

// aliases are the short names llama-quantize also accepts.
var aliases = map[string]FileType{"Q3_K": Q3_K_M, "Q4_K": Q4_K_M, "Q5_K": Q5_K_M}

func (ft FileType) info() (ftypeInfo, bool) {
	for _, e := range fileTypes {
		if e.ft == ft {
			return e.ftypeInfo, true
		}
	}
	return ftypeInfo{}, false
}

// String returns the recipe's name, such as "Q4_K_M".
func (ft FileType) String() string {
	if fi, ok := ft.info(); ok {
		return fi.name
	}
	return fmt.Sprintf("ftype(%d)", uint32(ft))
}

// BaseType returns the tensor type most tensors get under the recipe (Q4_K
// for Q4_K_M), or 0 and false for a recipe this package does not implement.
func (ft FileType) BaseType() (quant.Type, bool) {
	fi, ok := ft.info()
	return fi.base, ok
}

// quantized reports whether the recipe's base type is a block format (so the
// mixing rules and the shape fallbacks apply) rather than F32, F16 or BF16.
func (ft FileType) quantized() bool {
	b, _ := ft.BaseType()
	return b != quant.F32 && b != quant.F16 && b != quant.BF16
}

// FileTypeNames lists the names ParseFileType accepts (without aliases).
func FileTypeNames() []string {
	names := make([]string, len(fileTypes))
	for i, e := range fileTypes {
		names[i] = e.name
	}
	return names
}

// ParseFileType returns the recipe named name, case-insensitively; Q3_K,
// Q4_K and Q5_K mean their _M variants, as in llama-quantize. An unknown name
// is an error that lists the valid ones.
func ParseFileType(name string) (FileType, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	if ft, ok := aliases[up]; ok {
		return ft, nil
	}
	for _, e := range fileTypes {
		if e.name == up {
			return e.ft, nil
		}
	}
	return 0, fmt.Errorf("quantize: unknown type %q (valid: %s)", name, strings.Join(FileTypeNames(), ", "))
}
