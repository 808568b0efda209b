package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// subcommand is one sub-command of a command group (embedtune data info, embedtune cache clear, ...).
type subcommand struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) error
}

// dispatch runs the sub-command named by args[0]; usage is printed on stderr for help, a missing or an
// unknown sub-command.
func dispatch(args []string, stdout, stderr io.Writer, usage string, subs ...subcommand) error {
	var names []string
	for _, s := range subs {
		names = append(names, s.name)
	}
	want := strings.Join(names, ", ")
	if i := strings.LastIndex(want, ", "); i >= 0 {
		want = want[:i] + " or " + want[i+2:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("missing sub-command: %s", want)
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	switch args[0] {
	case "-h", "--help", "help":
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown sub-command %q: want %s", args[0], want)
}
