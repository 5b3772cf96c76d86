//go:build !unix && !windows

package distill

// lockDir does not lock where the system has no file locks.
func lockDir(string) (func(), error) { return func() {}, nil }

func syncDir(string) error { return nil }
