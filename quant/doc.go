// Package quant holds the ggml tensor element types and their block formats:
// for each format the block layout, Dequantize, a quantizer, and a scalar dot
// product that serves as the specification for the fast kernels.
package quant
