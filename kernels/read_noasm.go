//go:build purego || !(amd64 || arm64)

package kernels

// readBytes reads every byte of b (a multiple of 128 bytes long) and returns
// a value that depends on all of them.
func readBytes(b []byte) uint64 { return readBytesGo(b) }
