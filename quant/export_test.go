package quant

// Test helpers shared with the external test package (realdata_test.go),
// which imports gguf and so cannot live in package quant.

var (
	RelRMSEBound = relRMSEBound
	DequantDot   = dequantDot
	RelRMSE      = relRMSE
	Normals      = normals
)

const DotRelTol = dotRelTol
