package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/app"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitInterrupted is the shell's status for a command ended by SIGINT.
	exitInterrupted = 130
)

// Main dispatches a command line to one command. Its streams are fields so
// tests can drive it in process; the binary uses the process's.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	mu   sync.Mutex
	apps []*app.App // wired by the command: their refreshes finish before exit
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// command is one subcommand: one file, one XCommand.
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands lists the subcommands in help order.
var commands = []struct {
	name, summary string
	new           func(m *Main) command
}{
	{"import", "store a Codex auth.json as an account", func(m *Main) command { return &ImportCommand{m} }},
	{"login", "log an account in with ChatGPT (OAuth PKCE) and store it", func(m *Main) command { return &LoginCommand{m} }},
	{"export", "write an account's current login back to a Codex auth.json", func(m *Main) command { return &ExportCommand{m} }},
	{"keys", "create, list and revoke client API keys", func(m *Main) command { return &KeysCommand{m} }},
	{"accounts", "show accounts: status, plan, quota, cooldown; remove one", func(m *Main) command { return &AccountsCommand{m} }},
	{"usage", "show each client key's usage per day: requests and tokens", func(m *Main) command { return &UsageCommand{m} }},
	{"refresh", "refresh an account's token through the shared routine", func(m *Main) command { return &RefreshCommand{m} }},
	{"serve", "run the proxy as a local HTTP server", func(m *Main) command { return &ServeCommand{m} }},
	{"doctor", "check a deployment end to end: key, endpoint, table, a turn, accounts", func(m *Main) command { return &DoctorCommand{m} }},
	{"version", "print the codexgate release this binary was built from", func(m *Main) command { return &VersionCommand{m} }},
}

// Run executes args (without the program name) and returns the exit code:
// 0 on success and for --help, 2 for a usage error, 1 for any other failure.
// Errors are printed to Stderr as one line.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		m.usage(m.Stdout)
		return exitOK
	case "--version", "-version":
		name, args = "version", []string{"version"}
	}
	for _, c := range commands {
		if c.name == name {
			err := c.new(m).Run(ctx, args[1:])
			m.finishRefreshes()
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				fmt.Fprintf(m.Stderr, "codexgate %s: interrupted\n", name)
				return exitInterrupted
			}
			return m.exit(name, err)
		}
	}
	fmt.Fprintf(m.Stderr, "codexgate: unknown command %q (run 'codexgate help')\n", name)
	return exitUsage
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "codexgate: one endpoint for your ChatGPT-subscription Codex accounts.")
	fmt.Fprintln(w, "\nUsage:\n\n\tcodexgate <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'codexgate <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Settings come from the environment: AWS_REGION, AWS_ENDPOINT_URL, CODEXGATE_* (see README.md).")
}

// finishWait bounds how long an interrupted command waits for a refresh in
// flight: longer than the refresh routine's own bound without a deadline.
const finishWait = 150 * time.Second

// finishRefreshes waits, saying so, for refreshes still running in this
// process (the command returned, typically on Ctrl-C): until a rotated
// token is stored, this process holds its only copy.
func (m *Main) finishRefreshes() {
	m.mu.Lock()
	apps := m.apps
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), finishWait)
	defer cancel()
	defer func() {
		// A refresh event being recorded for the operator console: its
		// write is bounded by its own short timeout.
		for _, a := range apps {
			a.WaitEvents(ctx) //nolint:errcheck // best effort
		}
	}()
	for _, a := range apps {
		if a.Refresher.InFlight() == 0 {
			continue
		}
		fmt.Fprintf(m.Stderr, "codexgate: finishing a token refresh so its rotated token is stored (up to %s); press Ctrl-C again to quit at once\n", finishWait)
		if err := a.Refresher.Wait(ctx); err != nil {
			fmt.Fprintln(m.Stderr, "codexgate: WARNING: a token refresh did not finish; its account may need `codexgate login`")
		}
	}
}

// RefreshesInFlight reports how many refreshes this process is running.
func (m *Main) RefreshesInFlight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, a := range m.apps {
		n += a.Refresher.InFlight()
	}
	return n
}

// exit prints err as one line and maps it to an exit code.
func (m *Main) exit(name string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(m.Stderr, "codexgate %s: %s (see 'codexgate %s --help')\n", name, oneLine(err.Error()), ue.cmd)
		return exitUsage
	default:
		fmt.Fprintf(m.Stderr, "codexgate %s: %s\n", name, oneLine(err.Error()))
		return exitFailure
	}
}

// usageError is a bad command line: exit status 2.
type usageError struct {
	cmd string // e.g. "keys create"
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// printJSON writes v to stdout as indented JSON (a listing's --json).
func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// flagSet is a stdlib FlagSet that reports parse errors as usage errors and
// prints --help to stdout.
type flagSet struct {
	*flag.FlagSet
	cmd   string
	usage string // "codexgate import --account NAME ...": first help line
	about string // what the command does
	out   io.Writer
}

func newFlagSet(m *Main, cmd, usage, about string) *flagSet {
	fs := flag.NewFlagSet("codexgate "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, cmd: cmd, usage: usage, about: about, out: m.Stdout}
}

// parse parses args; it returns flag.ErrHelp after printing help, and a
// usageError for a bad flag or a stray argument.
func (f *flagSet) parse(args []string) error {
	if err := f.parseFlags(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef(f.cmd, "unexpected argument %q", f.Arg(0))
	}
	return nil
}

// parseFlags parses the flags of args up to the first other argument, with
// parse's errors.
func (f *flagSet) parseFlags(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp()
			return flag.ErrHelp
		}
		return usagef(f.cmd, "%v", err)
	}
	return nil
}

// positional returns args as positional arguments, or flag.ErrHelp after
// printing help for -h/--help. It parses no flags, so that a negative N
// is a number.
func (f *flagSet) positional(args []string, want int) ([]string, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			f.printHelp()
			return nil, flag.ErrHelp
		}
	}
	if len(args) != want {
		return nil, usagef(f.cmd, "want %d argument(s), got %d", want, len(args))
	}
	return args, nil
}

func (f *flagSet) printHelp() {
	fmt.Fprintf(f.out, "Usage: %s\n\n%s\n", f.usage, f.about)
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(f.out, "\nFlags:")
		f.SetOutput(f.out)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// require returns a usage error naming the first empty required flag.
func (f *flagSet) require(values map[string]string) error {
	var missing []string
	f.VisitAll(func(fl *flag.Flag) {
		if v, ok := values[fl.Name]; ok && strings.TrimSpace(v) == "" {
			missing = append(missing, "--"+fl.Name)
		}
	})
	if len(missing) > 0 {
		return usagef(f.cmd, "%s is required", strings.Join(missing, " and "))
	}
	return nil
}
