package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxNameLen bounds model names so that escaped they fit a file name.
const maxNameLen = 200

// escapeName maps a model name to a single safe file name: lower-cased
// (names are case-insensitive), with every byte outside [a-z0-9._-] and a
// leading dot percent-encoded, so "/", "\", ":" and ".." cannot survive.
func escapeName(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i, c := range []byte(strings.ToLower(name)) {
		safe := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || (c == '.' && i > 0)
		if safe {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String(), nil
}

// checkName reports whether name can be a model name.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("store: empty model name")
	case len(name) > maxNameLen:
		return fmt.Errorf("store: model name longer than %d bytes", maxNameLen)
	case !printable(name):
		return fmt.Errorf("store: model name %q is not UTF-8 or holds a control character", name)
	}
	return nil
}

// printable reports whether s is UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// checkFileName reports whether a file name from a repository is safe to
// use as the name of a link inside the store: one plain path element.
func checkFileName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("unsafe file name %q", name)
	case strings.ContainsAny(name, "/\\:\x00"):
		return fmt.Errorf("unsafe file name %q: only a base name is allowed", name)
	case !printable(name):
		return fmt.Errorf("unsafe file name %q: not UTF-8 or holds a control character", name)
	}
	return nil
}
