// Package store keeps downloaded models on disk: content-addressed blobs
// named by their SHA-256 and one small JSON manifest per model name.
//
// Layout under the store directory ($QILIN_MODELS, default ~/.qilin/models):
//
//	blobs/sha256-<hex>            a file's bytes, shared by every name that uses it
//	blobs/sha256-<hex>.partial    an interrupted download, resumed by the next pull
//	manifests/<escaped name>.json name -> blobs, size, quantization, architecture, times
//	links/<escaped name>/<file>   hard links giving a split model's parts their
//	                              original names, so a loader finds the siblings
//	locks/                        lock files of downloads and manifest updates
//
// Two names for the same file cost one copy. Every write is a temporary file
// renamed into place; a lock per blob serializes concurrent downloads of the
// same bytes, and a store-wide lock orders manifest writes against removal,
// which deletes the blobs no remaining manifest references.
//
// Names are case-insensitive and are never used as paths: they are escaped
// into a single file name, and blob paths are built only from validated
// digests, so nothing a name or a network listing says can escape the store.
package store
