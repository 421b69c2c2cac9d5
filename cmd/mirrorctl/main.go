// Command mirrorctl operates a deployed mirrorflow: it places one instance
// again, traces a placement step by step, lists failed placements and
// redrives or retries them. It finds the state machine and dead-letter queue
// from the stack's outputs and uses the SDK's default credential chain.
//
// Exit codes: 0 success, 1 an unexpected error, 2 a usage error (including
// redrive of an execution that ended in the dead-letter path, which only run
// or retry can place again), 3 an AWS error (credentials, a missing stack,
// state machine, execution or queue, a refused call), 4 a placement that did
// not succeed (run --wait, redrive --wait, a retry that left messages in the
// queue) or a coverage below coverage --fail-under.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mirrorflow/mirrorflow/internal/operate"
)

// Exit codes, documented in the package comment and in help.
const (
	exitOK             = 0
	exitError          = 1
	exitUsage          = 2
	exitAWS            = 3
	exitNotSucceeded   = 4
	defaultStack       = "Mirrorflow"
	defaultWaitTimeout = 5 * time.Minute
)

// command is one subcommand. Each lives in its own file; adding one is that
// file plus a line in commands.
type command struct {
	name     string
	synopsis string
	// help is the long description shown above the flags.
	help string
	// run parses args on fs, which already holds the global flags, and runs.
	run func(ctx context.Context, a *app, fs *flag.FlagSet, g *globals, args []string) error
}

// commands lists the subcommands in the order help shows them.
var commands = []command{
	planCommand,
	coverageCommand,
	snapshotCommand,
	runCommand,
	traceCommand,
	failuresCommand,
	redriveCommand,
	retryCommand,
	reconcileCommand,
	drainCommand,
	undrainCommand,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(newApp(os.Stdout, os.Stderr).main(ctx, os.Args[1:]))
}

// app is mirrorctl's environment: where it writes, how it reaches AWS and
// what time it is, so tests can run it against loopback fakes.
type app struct {
	stdout, stderr io.Writer
	// loadConfig loads the SDK configuration for --region and --profile.
	loadConfig func(ctx context.Context, region, profile string) (aws.Config, error)
	// endpoints, when set, overrides each service's endpoint by its SDK
	// service id ("SFN", "SQS", "CloudFormation").
	endpoints map[string]string
	now       func() time.Time
	backoff   operate.Backoff
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{
		stdout: stdout, stderr: stderr,
		loadConfig: loadDefaultConfig,
		now:        func() time.Time { return time.Now().UTC() },
		backoff:    operate.DefaultBackoff,
	}
}

func loadDefaultConfig(ctx context.Context, region, profile string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

// usageError is a mistake in how mirrorctl was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// errNotSucceeded is wrapped when the command worked but the placement it
// ran did not succeed; errBelowFailUnder when coverage worked but found
// the coverage below --fail-under. Both exit 4.
var (
	errNotSucceeded   = errors.New("the placement did not succeed")
	errBelowFailUnder = errors.New("the coverage is below --fail-under")
)

// main runs one command line and returns the exit code.
func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if c, ok := lookup(args[1]); ok {
				return a.exit(c.name, a.runCommand(ctx, c, []string{"-h"}))
			}
		}
		if err := a.usage(a.stdout); err != nil {
			return a.exit("help", err)
		}
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		a.complain("mirrorctl: unknown command %q\n\n", args[0])
		// Already a usage error; a usage that cannot be written changes nothing.
		_ = a.usage(a.stderr)
		return exitUsage
	}
	return a.exit(c.name, a.runCommand(ctx, c, args[1:]))
}

func (a *app) runCommand(ctx context.Context, c command, args []string) error {
	fs, g := a.flags(c)
	return c.run(ctx, a, fs, g, args)
}

func (a *app) exit(name string, err error) int {
	var ue *usageError
	var cannotRerun *operate.RedriveCannotRerunError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		a.complain("mirrorctl %s: %v\nRun 'mirrorctl help %s' for usage.\n", name, err, name)
		return exitUsage
	case errors.As(err, &cannotRerun):
		// The wrong command for this execution: running it again can never
		// help, which is what a usage error tells a script, and the message
		// names the command that can.
		a.complain("mirrorctl %s: %v\n", name, err)
		return exitUsage
	case errors.Is(err, errNotSucceeded), errors.Is(err, errBelowFailUnder):
		a.complain("mirrorctl %s: %v\n", name, err)
		return exitNotSucceeded
	case operate.IsAWS(err):
		a.complain("mirrorctl %s: %v\n", name, err)
		return exitAWS
	default:
		a.complain("mirrorctl %s: %v\n", name, err)
		return exitError
	}
}

// complain writes a message for the person at the terminal to stderr. A
// failed write there has nowhere left to be reported, and the exit code
// still says what happened, so it is dropped.
func (a *app) complain(format string, args ...any) {
	_, _ = fmt.Fprintf(a.stderr, format, args...)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func (a *app) usage(w io.Writer) error {
	var b strings.Builder
	b.WriteString("mirrorctl operates a deployed mirrorflow (its placement and Reconcile state machines),\n")
	b.WriteString("and without one plans placements and reports coverage (plan, coverage: against a\n")
	b.WriteString("snapshot, or read-only against the account).\n")
	b.WriteString("\nUsage: mirrorctl <command> [flags]\n")
	b.WriteString("\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.synopsis)
	}
	b.WriteString("\nRun 'mirrorctl help <command>' for its flags.\n")
	b.WriteString("\nExit codes: 0 ok, 1 unexpected error, 2 usage error (or redrive of an execution\n")
	b.WriteString("that ended in the dead-letter path: use run or retry), 3 AWS error (credentials,\n")
	b.WriteString("stack, state machine, execution or queue not found, call refused), 4 a placement\n")
	b.WriteString("that did not succeed, or a coverage below --fail-under.\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the usage: %w", err)
	}
	return nil
}

// globals are the flags every command takes.
type globals struct {
	region, profile, stack, stateMachine, queueURL, output string
	reconcileStateMachine                                  string
}

// flags makes a command's FlagSet with the global flags on it.
func (a *app) flags(c command) (*flag.FlagSet, *globals) {
	fs := flag.NewFlagSet("mirrorctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	g := &globals{}
	fs.StringVar(&g.region, "region", "", "AWS Region (default: from AWS_REGION or the profile)")
	fs.StringVar(&g.profile, "profile", "", "shared config profile (default: AWS_PROFILE or default)")
	fs.StringVar(&g.stack, "stack", defaultStack, "CloudFormation stack whose outputs name the state machine and dead-letter queue")
	fs.StringVar(&g.stateMachine, "state-machine", "", "state machine ARN, instead of reading it from the stack")
	fs.StringVar(&g.queueURL, "queue-url", "", "dead-letter queue URL, instead of reading it from the stack")
	fs.StringVar(&g.reconcileStateMachine, "reconcile-state-machine", "", "Reconcile state machine ARN, instead of reading it from the stack")
	fs.StringVar(&g.output, "output", operate.FormatTable, "output format: table or json")
	fs.Usage = func() {
		// The flag package gives Usage no way to report a failed write to stderr.
		_, _ = fmt.Fprintf(fs.Output(), "Usage: mirrorctl %s\n\n%s\n\nFlags:\n", c.synopsis, strings.TrimSpace(c.help))
		fs.PrintDefaults()
	}
	return fs, g
}

// parse parses flags that may come before or after the positional
// arguments, and checks --output.
func parse(fs *flag.FlagSet, g *globals, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if g.output != operate.FormatTable && g.output != operate.FormatJSON {
		return nil, usagef("--output %q: must be table or json", g.output)
	}
	return positional, nil
}

// parseNoArgs parses the flags of a command that takes no positional
// arguments, and refuses the first one given.
func parseNoArgs(fs *flag.FlagSet, g *globals, args []string) error {
	rest, err := parse(fs, g, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	return nil
}
