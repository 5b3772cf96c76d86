package gguf

import "fmt"

// fileTypes names llama.cpp's llama_ftype values, stored in
// general.file_type: the quantization recipe a whole file was made with.
var fileTypes = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16",
	7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L",
	14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
	19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS",
	24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
	29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
	36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

// ftypeGuessed is the flag llama.cpp adds to a file type it inferred from
// the tensors rather than read.
const ftypeGuessed = 1024

// FileTypeName returns the name of the file's general.file_type, such as
// "Q4_K_M" or "F16"; "" when the key is absent, and "ftype(N)" for a number
// llama.cpp does not define.
func (f *File) FileTypeName() string {
	v, ok := f.Get("general.file_type")
	if !ok {
		return ""
	}
	n, ok := asUint(v)
	if !ok {
		return fmt.Sprintf("ftype(%v)", v)
	}
	if name, ok := fileTypes[n&^ftypeGuessed]; ok {
		return name
	}
	return fmt.Sprintf("ftype(%d)", n)
}
