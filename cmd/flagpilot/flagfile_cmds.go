package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// parseArgs parses flags that may stand before, between or after the positional arguments,
// and checks that there are at least min and (unless max is negative) at most max of them.
func parseArgs(fs *flag.FlagSet, args []string, min, max int, stderr io.Writer) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		fmt.Fprintf(stderr, "flagpilot %s: wrong number of arguments (%d)\n", fs.Name(), len(pos))
		fs.Usage()
		return nil, false
	}
	return pos, true
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flagpilot %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "FILE...", stderr)
	files, ok := parseArgs(fs, args, 1, -1, stderr)
	if !ok {
		return exitUsage
	}
	code := exitOK
	for _, file := range files {
		doc, err := flagfile.ParseFile(file)
		if err != nil {
			printFileError(stderr, file, err)
			code = exitFail
			continue
		}
		fmt.Fprintf(stdout, "%s: valid: %d flag(s), %d segment(s), environments: %s\n",
			file, len(doc.Flags), len(doc.Segments), strings.Join(doc.Environments(), ", "))
	}
	return code
}

// printFileError prints one line per problem, compiler style: FILE:LINE: path: message.
func printFileError(w io.Writer, file string, err error) {
	var ve snapshot.ValidationError
	if !errors.As(err, &ve) {
		fmt.Fprintf(w, "%s: %v\n", file, err)
		return
	}
	for _, fe := range ve {
		loc := file
		if fe.Line > 0 {
			loc = fmt.Sprintf("%s:%d", file, fe.Line)
		}
		if fe.Path != "" {
			fmt.Fprintf(w, "%s: %s: %s\n", loc, fe.Path, fe.Message)
		} else {
			fmt.Fprintf(w, "%s: %s\n", loc, fe.Message)
		}
	}
	fmt.Fprintf(w, "%s: %d problem(s)\n", file, len(ve))
}

// evalOutput is the --json output of `flagpilot eval`.
type evalOutput struct {
	Flag        string         `json:"flag"`
	Environment string         `json:"environment"`
	Value       any            `json:"value"`
	Variant     string         `json:"variant,omitempty"`
	Reason      eval.Reason    `json:"reason"`
	ErrorCode   eval.ErrorCode `json:"errorCode,omitempty"`
	RuleID      string         `json:"ruleId,omitempty"`
}

func runEval(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eval", `FILE FLAG [--context '{"targetingKey":"u1","email":"a@mycompany.com"}'] [--env ENV] [--json]`, stderr)
	contextJSON := fs.String("context", "{}", "evaluation context as a JSON object; its targetingKey member is the targeting key")
	env := fs.String("env", "", "environment to evaluate in (default: the file's only environment)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, ok := parseArgs(fs, args, 2, 2, stderr)
	if !ok {
		return exitUsage
	}
	file, key := pos[0], pos[1]
	ec, err := eval.ParseContext([]byte(*contextJSON))
	if err != nil {
		fmt.Fprintf(stderr, "flagpilot eval: --context: %v\n", err)
		return exitUsage
	}
	doc, err := flagfile.ParseFile(file)
	if err != nil {
		printFileError(stderr, file, err)
		return exitFail
	}
	if *env == "" {
		envs := doc.Environments()
		if len(envs) != 1 {
			fmt.Fprintf(stderr, "flagpilot eval: %s configures environments %s: choose one with --env\n", file, strings.Join(envs, ", "))
			return exitUsage
		}
		*env = envs[0]
	}
	raw, err := doc.Snapshot(*env)
	if err != nil {
		printFileError(stderr, file, err)
		return exitFail
	}
	snap, err := eval.Compile(raw)
	if err != nil {
		printFileError(stderr, file, err)
		return exitFail
	}
	res := snap.Evaluate(key, &ec)
	out := evalOutput{Flag: key, Environment: *env, Value: res.Value, Variant: res.Variant, Reason: res.Reason, ErrorCode: res.ErrorCode, RuleID: res.RuleID}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "flagpilot eval: %v\n", err)
			return exitFail
		}
	} else {
		printEval(stdout, out)
	}
	if res.ErrorCode != "" {
		return exitFail
	}
	return exitOK
}

func printEval(w io.Writer, out evalOutput) {
	if out.ErrorCode != "" {
		fmt.Fprintf(w, "%s: error %s (the caller's default is served)\n", out.Flag, out.ErrorCode)
		return
	}
	value, _ := json.Marshal(out.Value)
	fmt.Fprintf(w, "%s = %s\n  variant: %s\n  reason:  %s\n", out.Flag, value, out.Variant, out.Reason)
	if out.RuleID != "" {
		fmt.Fprintf(w, "  rule:    %s\n", out.RuleID)
	}
	fmt.Fprintf(w, "  environment: %s\n", out.Environment)
}
