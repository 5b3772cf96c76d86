//go:build purego || !(amd64 || arm64)

package kernels

// simdSets returns no SIMD kernel sets: this build uses the generic kernels.
func simdSets() []*kernelSet { return nil }
