//go:build !windows

package testdata

// terminalPath is the controlling terminal.
const terminalPath = "/dev/tty"
