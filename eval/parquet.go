package eval

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// readParquet reads the rows of a parquet file into T, whose fields name
// the columns it needs (the file may have more). A malformed file is an
// error, also where the reader would panic.
// The file must have the columns named in need (a column missing from
// the file would read as empty values).
func readParquet[T any](data []byte, need ...string) (rows []T, err error) {
	f, err := openParquet(data)
	if err != nil {
		return nil, err
	}
	for _, c := range need {
		if !hasColumn(f, c) {
			return nil, fmt.Errorf("parquet: no column %q", c)
		}
	}
	return readRows[T](f)
}

// openParquet opens a parquet file held in memory.
func openParquet(data []byte) (f *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("parquet: malformed file: %v", p)
		}
	}()
	f, err = parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return f, nil
}

// hasColumn reports whether f has the leaf column at path.
func hasColumn(f *parquet.File, path ...string) bool {
	_, ok := f.Schema().Lookup(path...)
	return ok
}

// readRows reads f's rows into T.
func readRows[T any](f *parquet.File) (rows []T, err error) {
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("parquet: malformed file: %v", p)
		}
	}()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, 256)
	for {
		n, err := r.Read(buf)
		rows = append(rows, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parquet: %w", err)
		}
		if n == 0 {
			return rows, nil
		}
	}
}
