// Command cityeye is CityEye's single binary: the API server and scheduler (serve), a
// remote inference worker (worker), the embedded demo (demo) and model tools (model).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/cityeye/cityeye/models/warehouse"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func([]string) error) {
	commands[name] = command{summary: summary, run: run}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "CityEye: algorithm warehouse and inference scheduler for city video platforms.")
	fmt.Fprintln(w, "\nUsage: cityeye <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `cityeye <command> --help` for a command's flags.")
}

func main() {
	warehouse.SandboxMain() // the model sandbox child: a re-executed cityeye, never a command
	level := slog.LevelInfo
	if os.Getenv("CITYEYE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "cityeye: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	if err := c.run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "cityeye %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// newFlags makes a FlagSet whose --help prints the command's synopsis and flags.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("cityeye "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cityeye %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, printing help to stdout when asked for it.
func parse(fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(os.Stdout)
			break
		}
		if a == "--" {
			break
		}
	}
	return fs.Parse(args)
}

// subcommands dispatches "cityeye <group> <sub>" commands such as "model list".
func subcommands(group string, subs map[string]command, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := os.Stdout
		if len(args) == 0 {
			w = os.Stderr
		}
		fmt.Fprintf(w, "Usage: cityeye %s <command> [flags]\n\nCommands:\n", group)
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-17s %s\n", n, subs[n].summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("missing %s command (one of %s)", group, strings.Join(names, ", "))
		}
		return flag.ErrHelp
	}
	c, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("unknown %s command %q (see `cityeye %s --help`)", group, args[0], group)
	}
	return c.run(args[1:])
}
