package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func flagsCommands() []command {
	return []command{
		{"list", "list the project's flags", runFlagsList},
		{"get", "show a flag and its state in every environment", runFlagsGet},
		{"create", "create a flag; it starts disabled everywhere", runFlagsCreate},
		{"toggle", "turn a flag on or off in an environment", runFlagsToggle},
		{"delete", "delete a flag with its configurations", runFlagsDelete},
	}
}

var flagColumns = []column[domain.Flag]{
	{"KEY", func(f domain.Flag) string { return f.Key }},
	{"TYPE", func(f domain.Flag) string { return string(f.Type) }},
	{"VARIANTS", func(f domain.Flag) string { return variantNames(f.Variants) }},
	{"TAGS", func(f domain.Flag) string { return commaList(f.Tags) }},
	{"OWNER", func(f domain.Flag) string { return f.Owner }},
	{"VERSION", func(f domain.Flag) string { return strconv.FormatInt(f.Version, 10) }},
	{"DESCRIPTION", func(f domain.Flag) string { return shorten(f.Description, 60) }},
}

var configColumns = []column[domain.FlagConfig]{
	{"FLAG", func(c domain.FlagConfig) string { return c.Flag }},
	{"ENVIRONMENT", func(c domain.FlagConfig) string { return c.Environment }},
	{"ENABLED", func(c domain.FlagConfig) string { return onOff(c.Enabled) }},
	{"VERSION", func(c domain.FlagConfig) string { return strconv.FormatInt(c.Version, 10) }},
	{"RULES", func(c domain.FlagConfig) string { return count(c.Rules) }},
	{"DEFAULT", func(c domain.FlagConfig) string { return describeServe(c.Default) }},
	{"UPDATED", func(c domain.FlagConfig) string { return timestamp(c.UpdatedAt) }},
}

func variantNames(vs snapshot.Variants) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return commaList(names)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// describeServe says what a serve serves: a variant, or a rollout's weights.
func describeServe(s snapshot.Serve) string {
	if s.Rollout == nil {
		return s.Variant
	}
	parts := make([]string, len(s.Rollout.Weights))
	for i, w := range s.Rollout.Weights {
		parts[i] = fmt.Sprintf("%s %s%%", w.Variant, strconv.FormatFloat(w.Percent, 'f', -1, 64))
	}
	return commaList(parts)
}

func runFlagsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("flags list", "[--tag TAG] [--query TEXT] [--json]", stdout, stderr)
	project := c.project()
	tag := c.fs.String("tag", "", "only flags with this tag")
	query := c.fs.String("query", "", "only flags whose key, description or owner contains this")
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	flags, err := c.client.AllFlags(ctx, *project, apiclient.FlagQuery{Tag: *tag, Query: *query})
	return c.finish(apiclient.Page[domain.Flag]{Items: flags}, err, func(w io.Writer) {
		printTable(w, flags, flagColumns...)
	})
}

func runFlagsGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("flags get", "FLAG [--json]", stdout, stderr)
	project := c.project()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	f, err := c.client.GetFlag(ctx, *project, pos[0])
	var configs []domain.FlagConfig
	if err == nil && !*c.json {
		configs, err = flagConfigs(ctx, c.client, f)
	}
	return c.finish(f, err, func(w io.Writer) {
		printTable(w, []domain.Flag{f}, flagColumns...)
		fmt.Fprintln(w)
		printTable(w, configs, configColumns...)
	})
}

// flagConfigs returns a flag's configuration in every environment of its project.
func flagConfigs(ctx context.Context, client *apiclient.Client, f domain.Flag) ([]domain.FlagConfig, error) {
	envs, err := client.ListEnvironments(ctx, f.Project)
	if err != nil {
		return nil, err
	}
	configs := make([]domain.FlagConfig, len(envs))
	for i, e := range envs {
		if configs[i], err = client.GetFlagConfig(ctx, f.Project, f.Key, e.Key); err != nil {
			return nil, err
		}
	}
	return configs, nil
}

func runFlagsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("flags create", `FLAG [--type boolean|string|number|json] [--variant NAME=VALUE]... [--description TEXT] [--tag TAG]... [--owner TEAM]`, stdout, stderr)
	project := c.project()
	typ := c.fs.String("type", string(snapshot.TypeBoolean), "the type of every variant value: boolean, string, number or json")
	var variants []string
	c.fs.Func("variant", "a variant as NAME=VALUE, in order; VALUE is read as the flag's type, JSON for json flags (repeatable; boolean flags default to on=true, off=false)", func(s string) error {
		variants = append(variants, s)
		return nil
	})
	description := c.fs.String("description", "", "what the flag is for")
	tags := repeated(c.fs, "tag", "a tag")
	owner := c.fs.String("owner", "", "the team or person responsible")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	f := domain.Flag{Project: *project, Key: pos[0], Type: snapshot.FlagType(*typ), Description: *description, Tags: *tags, Owner: *owner}
	for _, s := range variants {
		v, err := parseVariant(f.Type, s)
		if err != nil {
			fmt.Fprintf(stderr, "flagpilot flags create: --variant %s: %v\n", s, err)
			return exitUsage
		}
		f.Variants = append(f.Variants, v)
	}
	created, err := c.client.CreateFlag(c.ctx(ctx), f)
	return c.finish(created, err, func(w io.Writer) {
		printTable(w, []domain.Flag{created}, flagColumns...)
	})
}

// parseVariant reads NAME=VALUE, VALUE in the syntax of the flag's type. Unknown types read
// VALUE as JSON and leave it to the server to name the type at fault.
func parseVariant(typ snapshot.FlagType, s string) (snapshot.Variant, error) {
	name, raw, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return snapshot.Variant{}, fmt.Errorf("expected NAME=VALUE")
	}
	v := snapshot.Variant{Name: name}
	var err error
	switch typ {
	case snapshot.TypeString:
		v.Value = raw
	case snapshot.TypeBoolean:
		v.Value, err = strconv.ParseBool(raw)
	case snapshot.TypeNumber:
		v.Value, err = strconv.ParseFloat(raw, 64)
	default:
		err = json.Unmarshal([]byte(raw), &v.Value)
	}
	if err != nil {
		return snapshot.Variant{}, fmt.Errorf("%q is not a %s value", raw, typ)
	}
	return v, nil
}

func runFlagsToggle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("flags toggle", "FLAG --env ENV --on|--off [--comment TEXT]", stdout, stderr)
	project, env := c.project(), c.env()
	on := c.fs.Bool("on", false, "turn the flag on")
	off := c.fs.Bool("off", false, "turn the flag off")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	if *on == *off {
		fmt.Fprintln(stderr, "flagpilot flags toggle: say --on or --off")
		return exitUsage
	}
	// The kill switch applies to whatever version is current: turning a flag off must not
	// fail because someone else changed its rules a moment ago.
	cfg, err := c.client.ToggleFlag(c.ctx(ctx), *project, pos[0], *env, *on, 0)
	return c.finish(cfg, err, func(w io.Writer) {
		printTable(w, []domain.FlagConfig{cfg}, configColumns...)
	})
}

func runFlagsDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("flags delete", "FLAG [--comment TEXT]", stdout, stderr)
	project := c.project()
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	err := c.client.DeleteFlag(c.ctx(ctx), *project, pos[0])
	return c.finish(nil, err, func(w io.Writer) {
		fmt.Fprintf(w, "deleted flag %s from project %s\n", pos[0], *project)
	})
}

func segmentsCommands() []command {
	return []command{
		{"list", "list the project's segments", runSegmentsList},
		{"get", "show a segment with its members and rules", runSegmentsGet},
		{"create", "create a segment from lists of keys", runSegmentsCreate},
		{"delete", "delete a segment that no rule uses", runSegmentsDelete},
	}
}

var segmentColumns = []column[domain.Segment]{
	{"KEY", func(s domain.Segment) string { return s.Key }},
	{"INCLUDE", func(s domain.Segment) string { return count(s.Include) }},
	{"EXCLUDE", func(s domain.Segment) string { return count(s.Exclude) }},
	{"RULES", func(s domain.Segment) string { return count(s.Rules) }},
	{"VERSION", func(s domain.Segment) string { return strconv.FormatInt(s.Version, 10) }},
	{"DESCRIPTION", func(s domain.Segment) string { return shorten(s.Description, 60) }},
}

func runSegmentsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("segments list", "[--json]", stdout, stderr)
	project := c.project()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	segments, err := c.client.AllSegments(ctx, *project)
	return c.finish(apiclient.Page[domain.Segment]{Items: segments}, err, func(w io.Writer) {
		printTable(w, segments, segmentColumns...)
	})
}

// membership is one line of a segment's detail: who it includes, excludes, or matches by a rule.
type membership struct{ what, who string }

func runSegmentsGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("segments get", "SEGMENT [--json]", stdout, stderr)
	project := c.project()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	s, err := c.client.GetSegment(ctx, *project, pos[0])
	return c.finish(s, err, func(w io.Writer) {
		printTable(w, []domain.Segment{s}, segmentColumns...)
		members := []membership{{"include", commaList(s.Include)}, {"exclude", commaList(s.Exclude)}}
		for i, r := range s.Rules {
			members = append(members, membership{fmt.Sprintf("rule %d", i+1), describeClauses(r.Clauses)})
		}
		fmt.Fprintln(w)
		printTable(w, members,
			column[membership]{"MATCHES", func(m membership) string { return m.what }},
			column[membership]{"WHO", func(m membership) string { return m.who }})
	})
}

// describeClauses writes clauses as a condition, such as `email ends_with ["@shop.com"] and
// not country in ["US","CA"]`.
func describeClauses(clauses []snapshot.Clause) string {
	parts := make([]string, len(clauses))
	for i, cl := range clauses {
		values, _ := json.Marshal(cl.Values) // values came from JSON
		parts[i] = fmt.Sprintf("%s %s %s", cl.Attribute, cl.Op, values)
		if cl.Negate {
			parts[i] = "not " + parts[i]
		}
	}
	return strings.Join(parts, " and ")
}

func runSegmentsCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("segments create", "SEGMENT [--include KEY]... [--exclude KEY]... [--description TEXT]", stdout, stderr)
	project := c.project()
	include := repeated(c.fs, "include", "a targeting key the segment always includes")
	exclude := repeated(c.fs, "exclude", "a targeting key the segment never includes")
	description := c.fs.String("description", "", "who the segment is")
	c.withComment()
	c.withJSON()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	s := domain.Segment{Project: *project, Segment: snapshot.Segment{Key: pos[0], Description: *description, Include: *include, Exclude: *exclude}}
	created, err := c.client.CreateSegment(c.ctx(ctx), s)
	return c.finish(created, err, func(w io.Writer) {
		printTable(w, []domain.Segment{created}, segmentColumns...)
	})
}

func runSegmentsDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("segments delete", "SEGMENT [--comment TEXT]", stdout, stderr)
	project := c.project()
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	err := c.client.DeleteSegment(c.ctx(ctx), *project, pos[0])
	return c.finish(nil, err, func(w io.Writer) {
		fmt.Fprintf(w, "deleted segment %s from project %s\n", pos[0], *project)
	})
}
