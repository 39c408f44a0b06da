// Command flagpilot is Flagpilot's single binary: it runs the server, validates and evaluates
// flag files, and drives a running server through its management API (flags, segments,
// import, export, keys, users, audit).
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
		{"demo", "tell Flagpilot's story in a few minutes: a server, a shop with flags, its traffic and the autopilot", runDemo},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"backup", "write a consistent backup of the database to a file", runBackup},
		{"restore", "load a backup into an empty database", runRestore},
		{"healthcheck", "ask a running server whether it is ready", runHealthcheck},
		{"config", "print the effective server configuration (config dump), secrets redacted", runConfig},
		{"validate", "check flag files and report every problem with its line", runValidate},
		{"eval", "evaluate a flag from a flag file for a context", runEval},
		{"sim", "run the autopilot's detection benchmark on scenario files", runSim},
		{"projects", "list, create and delete the projects on a server", group("projects", projectsCommands())},
		{"envs", "list, create and delete the environments of a project on a server", group("envs", envsCommands())},
		{"flags", "list, show, create, toggle and delete the flags of a project on a server", group("flags", flagsCommands())},
		{"segments", "list, show, create and delete the segments of a project on a server", group("segments", segmentsCommands())},
		{"import", "create or update a project's flags and segments on a server from a flag file", runImport},
		{"export", "write a project on a server as a flag file", runExport},
		{"keys", "list, create and delete the SDK keys of an environment on a server", group("keys", keysCommands())},
		{"users", "list, create and delete the dashboard users of a server, and set their passwords", group("users", usersCommands())},
		{"rollouts", "start, watch, pause, resume, advance and abort guarded rollouts on a server", group("rollouts", rolloutsCommands())},
		{"gate", "list release gates and evaluate one over a time window (exit code = verdict, for CI)", group("gate", gateCommands())},
		{"audit", "show the recent changes from a server's audit log", runAudit},
		{"metrics", "show a flag's telemetry per variant in an environment: evaluations, units, errors, latency", runMetrics},
		{"correlate", "rank the flags of an environment by how strongly a variant carries excess errors, beside the flag changes", runCorrelate},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return dispatch(ctx, "flagpilot", commands(), args, stdout, stderr)
}

// dispatch runs the command of cmds that args[0] names. name is how the user has called the
// program so far: "flagpilot", or "flagpilot flags" for the subcommands of a verb.
func dispatch(ctx context.Context, name string, cmds []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, name, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", name, args[0])
	usage(stderr, name, cmds)
	return exitUsage
}

// group is the run function of a verb with subcommands, such as `flagpilot flags list`.
func group(verb string, subs []command) func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return dispatch(ctx, "flagpilot "+verb, subs, args, stdout, stderr)
	}
}

func usage(w io.Writer, name string, cmds []command) {
	fmt.Fprintf(w, "Usage: %s <command> [arguments]\n\nCommands:\n", name)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's options.\n", name)
}
