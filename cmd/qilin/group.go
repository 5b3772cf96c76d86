package main

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// group is a subcommand with subcommands of its own ("qilin distill collect",
// "qilin watermark detect"). Each member lives in its own file and registers
// itself in init with registerIn, so that members can be added without
// touching the group's file.
type group struct {
	name    string
	summary string
	members map[string]*command
}

var groups = map[string]*group{}

// registerIn adds c to the group named name, registering the group as a
// command the first time.
func registerIn(name, summary string, c *command) {
	g, ok := groups[name]
	if !ok {
		g = &group{name: name, summary: summary, members: map[string]*command{}}
		groups[name] = g
		register(&command{name: name, summary: summary, run: g.run})
	}
	if _, dup := g.members[c.name]; dup {
		panic("qilin: command registered twice: " + name + " " + c.name)
	}
	g.members[c.name] = c
}

// run dispatches args to a member, e.g. ["collect", "--teacher", ...].
func (g *group) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		g.printHelp(stdout)
		if len(args) == 0 {
			return usageError("name a %s command", g.name)
		}
		return nil
	}
	c, ok := g.members[args[0]]
	if !ok {
		g.printHelp(stderr)
		return usageError("unknown command %q", g.name+" "+args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func (g *group) printHelp(w io.Writer) {
	fmt.Fprintf(w, "qilin %s: %s\n\nCommands:\n", g.name, g.summary)
	names := make([]string, 0, len(g.members))
	for n := range g.members {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 10
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, g.members[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'qilin %s COMMAND -h' for a command's flags.\n", g.name)
}
