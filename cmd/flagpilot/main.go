// Command flagpilot is Flagpilot's single binary: it validates and evaluates flag files and,
// as the project grows, runs and drives the server.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one verb of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// Exit codes shared by every verb.
const (
	exitOK    = 0
	exitFail  = 1 // the input was read but is invalid, or the operation failed
	exitUsage = 2 // the command line itself is wrong
)

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"backup", "write a consistent backup of the database to a file", runBackup},
		{"restore", "load a backup into an empty database", runRestore},
		{"healthcheck", "ask a running server whether it is ready", runHealthcheck},
		{"config", "print the effective server configuration (config dump), secrets redacted", runConfig},
		{"validate", "check flag files and report every problem with its line", runValidate},
		{"eval", "evaluate a flag from a flag file for a context", runEval},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "flagpilot: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: flagpilot <command> [arguments]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'flagpilot <command> -h' for a command's options.")
}
