package gguf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// Metadata keys of llama.cpp's gguf-split, present in every part of a model
// split across files named PREFIX-00001-of-0000N.gguf.
const (
	KeySplitNo           = "split.no"            // 0-based index of this part
	KeySplitCount        = "split.count"         // number of parts
	KeySplitTensorsCount = "split.tensors.count" // tensors in all parts together
)

// splitName matches llama.cpp's split file names.
var splitName = regexp.MustCompile(`^(.*)-(\d{5})-of-(\d{5})\.gguf$`)

// SplitPath returns the path of part i (1-based) of n of the model whose
// parts are named prefix-0000i-of-0000n.gguf, as llama.cpp names them.
func SplitPath(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, i, n)
}

// PartPaths returns the files of the model that path belongs to, in order:
// path alone for a single file, or every part's path, beside path, for
// the part of a model split in count files (split.count). It checks only
// the name, not that the parts exist.
func PartPaths(path string, count int) ([]string, error) {
	if count <= 1 {
		return []string{path}, nil
	}
	m := splitName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return nil, fmt.Errorf("gguf: %s: part of a model split in %d files, but the name does not follow PREFIX-00001-of-%05d.gguf", path, count, count)
	}
	if n, _ := strconv.Atoi(m[3]); n != count {
		return nil, fmt.Errorf("gguf: %s: %s is %d but the name says %d parts", path, KeySplitCount, count, n)
	}
	prefix := filepath.Join(filepath.Dir(path), m[1])
	paths := make([]string, count)
	for i := range paths {
		paths[i] = SplitPath(prefix, i+1, count)
	}
	return paths, nil
}

// openSplit completes first, the just-opened part at path, into the whole
// model when its metadata says it is one of several parts. It opens the
// other parts and appends their tensors; the metadata stays the first
// part's. On error it closes everything it opened, first included.
func openSplit(first *File, path string, opts Options) (*File, error) {
	count := first.Uint(KeySplitCount, 1)
	if count <= 1 {
		return first, nil
	}
	fail := func(err error) (*File, error) {
		first.Close()
		return nil, err
	}
	m := splitName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return fail(fmt.Errorf("gguf: %s: part of a model split in %d files, but the name does not follow PREFIX-00001-of-%05d.gguf, so the other parts cannot be found", path, count, count))
	}
	prefix := filepath.Join(filepath.Dir(path), m[1])
	no, _ := strconv.Atoi(m[2])
	if n, _ := strconv.Atoi(m[3]); uint64(n) != count {
		return fail(fmt.Errorf("gguf: %s: %s is %d but the name says %d parts", path, KeySplitCount, count, n))
	}
	if no != 1 {
		// Start over from the first part, which holds the metadata.
		first.Close()
		f, err := OpenWith(SplitPath(prefix, 1, int(count)), opts)
		if err != nil {
			return nil, fmt.Errorf("gguf: %s is part %d of a split model: opening part 1: %w", path, no, err)
		}
		return f, nil
	}
	if err := checkPart(first, path, 0, count); err != nil {
		return fail(err)
	}
	want := first.Uint(KeySplitTensorsCount, 0)
	for i := 2; i <= int(count); i++ {
		pp := SplitPath(prefix, i, int(count))
		part, err := openPart(pp, opts)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fail(fmt.Errorf("gguf: split model %s: part %d of %d (%s) is missing", path, i, count, pp))
			}
			return fail(fmt.Errorf("gguf: split model %s: part %d: %w", path, i, err))
		}
		first.closers = append(first.closers, part.closers...)
		first.mapped = first.mapped && part.mapped
		if err := checkPart(part, pp, i-1, count); err != nil {
			return fail(err)
		}
		first.Size += part.Size
		for _, t := range part.Tensors {
			if _, dup := first.tensorIndex[t.Name]; dup {
				return fail(fmt.Errorf("gguf: split model %s: tensor %q appears in more than one part (again in %s)", path, t.Name, pp))
			}
			first.tensorIndex[t.Name] = len(first.Tensors)
			first.Tensors = append(first.Tensors, t)
		}
	}
	if want != uint64(len(first.Tensors)) {
		return fail(fmt.Errorf("gguf: split model %s: %s is %d but the %d parts hold %d tensors", path, KeySplitTensorsCount, want, count, len(first.Tensors)))
	}
	return first, nil
}

// openPart loads and parses one part without following its split keys.
func openPart(path string, opts Options) (*File, error) {
	data, release, mapped, err := load(path, opts)
	if err != nil {
		return nil, err
	}
	f, err := parse(data, path)
	if err != nil {
		release()
		return nil, err
	}
	f.mapped = mapped
	f.closers = append(f.closers, release)
	return f, nil
}

// checkPart checks that f, found at path, says it is part no (0-based) of
// count.
func checkPart(f *File, path string, no int, count uint64) error {
	if got, ok := f.Get(KeySplitNo); !ok {
		return fmt.Errorf("gguf: %s: part %d of a split model lacks %s", path, no+1, KeySplitNo)
	} else if n, ok := asUint(got); !ok || n != uint64(no) {
		return fmt.Errorf("gguf: %s: %s is %v, want %d", path, KeySplitNo, got, no)
	}
	if c := f.Uint(KeySplitCount, 0); c != count {
		return fmt.Errorf("gguf: %s: %s is %d, the first part says %d", path, KeySplitCount, c, count)
	}
	return nil
}
