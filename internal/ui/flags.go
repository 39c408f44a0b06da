package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/svgchart"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// flagsPerPage is the flag list's page size.
const flagsPerPage = 100

type flagsPage struct {
	Query, Tag string
	Rows       []flagRow
	// Next is the cursor of the following page; empty on the last.
	Next string
	Tags []string
	// Form and Error hold a rejected new flag.
	Form  newFlagForm
	Error string
}

// flagRow is a flag with its state in every environment and its telemetry in the selected one.
type flagRow struct {
	Flag          domain.Flag
	Envs          []envState
	LastEvaluated time.Time
	// Recent is a sparkline of the flag's recent evaluations; empty when it had none.
	Recent template.HTML
	Stale  string
}

type envState struct {
	Env     string
	Enabled bool
	Serves  string
	Rules   int
}

func (u *UI) flags(w http.ResponseWriter, r *http.Request) error {
	return u.showFlags(w, r, http.StatusOK, flagsPage{})
}

func (u *UI) showFlags(w http.ResponseWriter, r *http.Request, status int, body flagsPage) error {
	ctx := r.Context()
	pd, err := u.projectPage(r, "flags", "Flags")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	body.Query, body.Tag = strings.TrimSpace(q.Get("q")), strings.TrimSpace(q.Get("tag"))
	flags, err := u.svc.ListFlags(ctx, pd.Project, domain.FlagFilter{Tag: body.Tag, Query: body.Query,
		Page: domain.Page{Limit: flagsPerPage + 1, After: q.Get("after")}})
	if err != nil {
		return err
	}
	if len(flags) > flagsPerPage {
		flags = flags[:flagsPerPage]
		body.Next = flags[len(flags)-1].Key
	}
	configs := map[string]map[string]domain.FlagConfig{} // env → flag → configuration
	for _, e := range pd.Envs {
		list, err := u.svc.ListFlagConfigs(ctx, pd.Project, e.Key)
		if err != nil {
			return err
		}
		configs[e.Key] = map[string]domain.FlagConfig{}
		for _, c := range list {
			configs[e.Key][c.Flag] = c
		}
	}
	now := u.now()
	var lastEvaluated map[string]time.Time
	var recent map[string][]float64
	if u.telemetry != nil && pd.Env != "" && len(flags) > 0 {
		if lastEvaluated, err = u.telemetry.LastEvaluated(ctx, pd.Project, pd.Env); err != nil {
			return err
		}
		if recent, err = u.recentEvaluations(ctx, pd.Project, pd.Env, flags, now); err != nil {
			return err
		}
	}
	tags := map[string]bool{}
	for _, f := range flags {
		row := flagRow{Flag: f, LastEvaluated: lastEvaluated[f.Key]}
		if values := recent[f.Key]; slices.ContainsFunc(values, func(v float64) bool { return v > 0 }) {
			row.Recent = svgchart.Sparkline("Evaluations of "+f.Key+" in "+pd.Env+", last "+recentSpanText, values, 90, 24)
		}
		for _, e := range pd.Envs {
			c := configs[e.Key][f.Key]
			row.Envs = append(row.Envs, envState{Env: e.Key, Enabled: c.Enabled, Serves: describeServe(c.Default), Rules: len(c.Rules)})
		}
		row.Stale = staleness(f, configs[pd.Env][f.Key], row.LastEvaluated, now)
		body.Rows = append(body.Rows, row)
		for _, t := range f.Tags {
			tags[t] = true
		}
	}
	for t := range tags {
		body.Tags = append(body.Tags, t)
	}
	slices.Sort(body.Tags)
	u.render(w, r, status, "flags", pd, body)
	return nil
}

// The flag list's sparklines show each flag's evaluations over recentSpan, in about
// recentPoints points, read for the whole page in one query.
const (
	recentSpan     = 15 * time.Minute
	recentSpanText = "15 minutes"
	recentPoints   = 15
)

// recentEvaluations returns the evaluations of each of flags in env over the last recentSpan,
// a value a step.
func (u *UI) recentEvaluations(ctx context.Context, project, env string, flags []domain.Flag, now time.Time) (map[string][]float64, error) {
	step := stepFor(recentSpan, u.window, recentPoints)
	from := now.Truncate(step).Add(step - recentSpan)
	bounds := make([]time.Time, int(recentSpan/step)+1)
	for i := range bounds {
		bounds[i] = from.Add(time.Duration(i) * step)
	}
	keys := make([]string, len(flags))
	for i, f := range flags {
		keys[i] = f.Key
	}
	counts, err := u.telemetry.EvaluationCounts(ctx, project, env, keys, bounds)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]float64, len(counts))
	for flag, cs := range counts {
		values := make([]float64, len(cs))
		for i, c := range cs {
			values[i] = float64(c)
		}
		out[flag] = values
	}
	return out, nil
}

// staleThreshold is how long a flag may go unevaluated, or a temporary flag serve one variant
// to everyone unchanged, before the dashboard suggests removing it.
const staleThreshold = 30 * 24 * time.Hour

// staleness says why a flag looks ready to be removed from the code, or "" when it does not.
func staleness(f domain.Flag, c domain.FlagConfig, lastEvaluated, now time.Time) string {
	if f.ExpectedRemoval != "" {
		if due, err := time.Parse(time.DateOnly, f.ExpectedRemoval); err == nil && now.After(due) {
			return "past its expected removal date " + f.ExpectedRemoval
		}
	}
	if now.Sub(f.CreatedAt) < staleThreshold {
		return ""
	}
	if !lastEvaluated.IsZero() && now.Sub(lastEvaluated) > staleThreshold {
		return fmt.Sprintf("not evaluated for %d days", int(now.Sub(lastEvaluated).Hours()/24))
	}
	if f.Lifecycle == domain.LifecycleTemporary && c.Enabled && len(c.Rules) == 0 && c.Default.Rollout == nil &&
		!c.UpdatedAt.IsZero() && now.Sub(c.UpdatedAt) > staleThreshold {
		return fmt.Sprintf("serves %q to everyone, unchanged for %d days", c.Default.Variant, int(now.Sub(c.UpdatedAt).Hours()/24))
	}
	return ""
}

// describeServe summarises a serve: "on", or "10 % on · 90 % off".
func describeServe(s snapshot.Serve) string {
	if s.Rollout == nil {
		return s.Variant
	}
	parts := make([]string, 0, len(s.Rollout.Weights))
	for _, w := range s.Rollout.Weights {
		parts = append(parts, strconv.FormatFloat(w.Percent, 'f', -1, 64)+" % "+w.Variant)
	}
	return strings.Join(parts, " · ")
}

// newFlagForm is the new-flag form as sent.
type newFlagForm struct {
	Key, Type, Description, Tags, Owner, Lifecycle, ExpectedRemoval string
	// Variants are "name=value" lines, for flags that are not boolean.
	Variants string
}

func (u *UI) createFlag(w http.ResponseWriter, r *http.Request) error {
	form := newFlagForm{
		Key: strings.TrimSpace(r.PostFormValue("key")), Type: r.PostFormValue("type"),
		Description: strings.TrimSpace(r.PostFormValue("description")), Tags: r.PostFormValue("tags"),
		Owner: strings.TrimSpace(r.PostFormValue("owner")), Lifecycle: r.PostFormValue("lifecycle"),
		ExpectedRemoval: strings.TrimSpace(r.PostFormValue("expectedRemoval")), Variants: r.PostFormValue("variants"),
	}
	f := domain.Flag{Project: r.PathValue("project"), Key: form.Key, Type: snapshot.FlagType(form.Type),
		Description: form.Description, Owner: form.Owner, Lifecycle: form.Lifecycle, ExpectedRemoval: form.ExpectedRemoval,
		Tags: splitList(form.Tags)}
	var err error
	if f.Variants, err = parseVariants(f.Type, form.Variants); err == nil {
		_, err = u.svc.CreateFlag(r.Context(), f)
	}
	if err != nil {
		if !isUserError(err) {
			return err
		}
		return u.showFlags(w, r, statusOf(err), flagsPage{Form: form, Error: err.Error()})
	}
	pd, err := u.projectPage(r, "flags", "")
	if err != nil {
		return err
	}
	redirect(w, r, pd.Href("/flags/"+url.PathEscape(f.Key)), "Flag "+f.Key+" created; it is off in every environment")
	return nil
}

// parseVariants reads "name=value" lines; values are JSON for json flags, numbers for number
// flags and text for string flags. Boolean flags take none and get on/off.
func parseVariants(typ snapshot.FlagType, text string) (snapshot.Variants, error) {
	var vs snapshot.Variants
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, raw, ok := strings.Cut(line, "=")
		if !ok {
			return nil, domain.FieldErrorf("variants", "line %d: expected name=value, got %q", i+1, line)
		}
		var value any = strings.TrimSpace(raw)
		switch typ {
		case snapshot.TypeNumber:
			f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
			if err != nil {
				return nil, domain.FieldErrorf("variants", "line %d: %q is not a number", i+1, raw)
			}
			value = f
		case snapshot.TypeJSON:
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return nil, domain.FieldErrorf("variants", "line %d: the value is not JSON: %v", i+1, err)
			}
			value = v
		case snapshot.TypeBoolean:
			return nil, domain.FieldErrorf("variants", "boolean flags have the variants on and off; leave this empty")
		}
		vs = append(vs, snapshot.Variant{Name: strings.TrimSpace(name), Value: value})
	}
	return vs, nil
}

// splitList reads a comma- or newline-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type flagPage struct {
	Flag    domain.Flag
	Configs []domain.FlagConfig
	// Rollouts holds each environment's latest guarded rollout, if any.
	Rollouts map[string]domain.Rollout
	History  []historyEntry
}

// historyEntry is an audit event with the change it made as a line diff.
type historyEntry struct {
	Event domain.AuditEvent
	Diff  []diffLine
}

// historyLength is how many changes the flag page shows.
const historyLength = 50

func (u *UI) flag(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pd, err := u.projectPage(r, "flags", r.PathValue("flag"))
	if err != nil {
		return err
	}
	f, err := u.svc.GetFlag(ctx, pd.Project, r.PathValue("flag"))
	if err != nil {
		return err
	}
	configs, err := u.svc.ListFlagConfigsOfFlag(ctx, pd.Project, f.Key)
	if err != nil {
		return err
	}
	body := flagPage{Flag: f, Configs: configs, Rollouts: map[string]domain.Rollout{}}
	for _, c := range configs {
		ro, err := u.svc.GetRollout(ctx, pd.Project, f.Key, c.Environment)
		switch {
		case err == nil:
			body.Rollouts[c.Environment] = ro
		case domain.ErrorCode(err) != domain.CodeNotFound:
			return err
		}
	}
	events, err := u.svc.ListAudit(ctx, domain.AuditFilter{Project: pd.Project, ResourceType: "flag", ResourceKey: f.Key, Limit: historyLength})
	if err != nil {
		return err
	}
	for _, e := range events {
		body.History = append(body.History, historyEntry{Event: e, Diff: diffJSON(e.Before, e.After)})
	}
	u.render(w, r, http.StatusOK, "flag", pd, body)
	return nil
}

// toggle turns a flag on or off in one environment: the kill switch. The form carries the
// version it was shown at, so a toggle based on a stale page is refused.
func (u *UI) toggle(w http.ResponseWriter, r *http.Request) error {
	project, flag, env := r.PathValue("project"), r.PathValue("flag"), r.PostFormValue("env")
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil {
		return domain.FieldErrorf("version", "expected the configuration version the page showed")
	}
	enabled := r.PostFormValue("enabled") == "true"
	ctx := service.WithComment(r.Context(), strings.TrimSpace(r.PostFormValue("comment")))
	if _, err := u.svc.ToggleFlag(ctx, project, flag, env, enabled, version); err != nil {
		if domain.ErrorCode(err) == domain.CodeConflict {
			return &httpError{status: http.StatusConflict, message: "Someone changed this flag in " + env + " since the page was loaded. Reload it to see the change, then toggle again."}
		}
		return err
	}
	state := "off"
	if enabled {
		state = "on"
	}
	back := "/p/" + url.PathEscape(project) + "/flags/" + url.PathEscape(flag) + "?env=" + url.QueryEscape(env)
	if r.PostFormValue("from") == "list" {
		back = "/p/" + url.PathEscape(project) + "/flags?env=" + url.QueryEscape(env)
	}
	redirect(w, r, back, fmt.Sprintf("%s turned %s in %s", flag, state, env))
	return nil
}
