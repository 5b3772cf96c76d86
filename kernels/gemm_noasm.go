//go:build purego || !amd64

package kernels

// gemmTiles lists the register tiles of this build: the pure-Go one.
var gemmTiles = []gemmTileImpl{{"generic", gemmTileGo}}
