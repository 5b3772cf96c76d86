//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// readBytes reads every byte of b (a multiple of 128 bytes long) as fast as
// the CPU can and returns a value that depends on all of them.
func readBytes(b []byte) uint64 {
	if cpu.X86.HasAVX2 && len(b) >= 128 {
		return readAVX2(len(b)/128, &b[0])
	}
	return readBytesGo(b)
}
