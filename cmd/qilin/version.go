package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/qilin-ai/qilin/server"
)

func init() {
	register(&command{name: "version", summary: "print qilin's version (also qilin --version)", run: runVersion})
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("version takes no arguments, got %q", pos)
	}
	_, err = fmt.Fprintln(stdout, versionLine())
	return err
}

// versionLine is "qilin VERSION (commit REV[, modified], GOVERSION OS/ARCH)",
// the commit from the build's version control stamp when there is one.
func versionLine() string {
	build := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
		if rev != "" {
			build = "commit " + rev[:min(len(rev), 12)] + modified + ", " + build
		}
	}
	return fmt.Sprintf("qilin %s (%s)", server.Version, build)
}
