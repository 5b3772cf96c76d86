//go:build !purego

package kernels

// readBytes reads every byte of b (a multiple of 128 bytes long) with NEON
// loads and returns the xor of its 64-bit words, as readBytesGo does.
func readBytes(b []byte) uint64 {
	if len(b) >= 128 {
		return readNEON(len(b)/128, &b[0])
	}
	return readBytesGo(b)
}
