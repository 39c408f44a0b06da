// Package storetest is the conformance suite that every domain.Store implementation passes:
// the behaviour documented in internal/domain/store.go, checked the same way on each backend.
package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// Run runs the suite. open returns a new, empty, migrated store and closes it at the test's
// cleanup; every subtest opens its own and they run in parallel.
func Run(t *testing.T, open func(t *testing.T) domain.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, open func(t *testing.T) domain.Store)
	}{
		{"SchemaVersion", testSchemaVersion},
		{"Projects", testProjects},
		{"KeysetPagination", testKeysetPagination},
		{"PageLimits", testPageLimits},
		{"Environments", testEnvironments},
		{"Flags", testFlags},
		{"FlagFilter", testFlagFilter},
		{"FlagConfigs", testFlagConfigs},
		{"Segments", testSegments},
		{"Tokens", testTokens},
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"SDKKeys", testSDKKeys},
		{"Cascades", testCascades},
		{"Audit", testAudit},
		{"Webhooks", testWebhooks},
		{"Deliveries", testDeliveries},
		{"Transactions", testTransactions},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Timestamps", testTimestamps},
		{"DumpRestore", testDumpRestore},
		{"TelemetrySaveAndList", testTelemetrySaveAndList},
		{"EvaluationCounts", testEvaluationCounts},
		{"TelemetryConflicts", testTelemetryConflicts},
		{"LastEvaluated", testLastEvaluated},
		{"CompactTelemetry", testCompactTelemetry},
		{"Rollouts", testRollouts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open)
		})
	}
}

func testSchemaVersion(t *testing.T, open func(t *testing.T) domain.Store) {
	s := open(t)
	applied, latest, err := s.SchemaVersion(t.Context())
	check(t, err)
	if latest < 1 || applied != latest {
		t.Errorf("SchemaVersion = %d, %d; want applied == latest >= 1", applied, latest)
	}
	check(t, s.Ping(t.Context()))
}

// update runs fn in a transaction and fails the test if it returns an error.
func update(t *testing.T, s domain.Store, fn func(tx domain.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// try runs fn in a transaction and returns its error.
func try(t *testing.T, s domain.Store, fn func(tx domain.Tx) error) error {
	t.Helper()
	return s.Update(t.Context(), fn)
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// keys maps items to their keys, to compare listings by order.
func keys[T any](items []T, key func(T) string) []string {
	ks := []string{}
	for _, it := range items {
		ks = append(ks, key(it))
	}
	return ks
}

// t0 has microseconds, the finest precision stores keep, so that fixtures round-trip exactly.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

func newProject(key string) domain.Project {
	return domain.Project{Key: key, Name: "Project " + key, Description: "About " + key, CreatedAt: t0, UpdatedAt: t0}
}

func newEnv(project, key string) domain.Environment {
	return domain.Environment{Project: project, Key: key, Name: "Env " + key, CreatedAt: t0}
}

// newFlag returns a flag as a store gives it back after CreateFlag (version 1). Its variants
// are not in name order and hold JSON values of every kind (numbers read back as json.Number).
func newFlag(project, key string) domain.Flag {
	return domain.Flag{
		Project: project, Key: key, Type: snapshot.TypeJSON,
		Variants: snapshot.Variants{
			{Name: "zeta", Value: map[string]any{"limit": json.Number("10"), "list": []any{"a", true, nil}}},
			{Name: "alpha", Value: "text"},
			{Name: "mid", Value: json.Number("1.5")},
		},
		Description: "Flag " + key, Tags: []string{"beta", "web"}, Owner: "team-" + key,
		Lifecycle: domain.LifecycleTemporary, ExpectedRemoval: "2025-06-30",
		Version: 1, CreatedAt: t0, UpdatedAt: t0,
	}
}

// newConfig returns a configuration as a store gives it back after PutFlagConfig with base 0:
// prerequisites, a segment rule, a rule with clauses of mixed value types serving a rollout,
// and a rollout by default.
func newConfig(project, flag, env string) domain.FlagConfig {
	return domain.FlagConfig{
		Project: project, Flag: flag, Environment: env,
		Config: snapshot.Config{
			Enabled: true, OffVariant: "alpha",
			Prerequisites: []snapshot.Prerequisite{{Flag: "other", Variant: "on"}},
			Rules: []snapshot.Rule{
				{ID: "r1", Name: "staff", Segment: "staff", Serve: snapshot.Serve{Variant: "zeta"}},
				{ID: "r2", Name: "mixed", Clauses: []snapshot.Clause{
					{Attribute: "country", Op: snapshot.OpIn, Values: []any{"CA", "US"}, IgnoreCase: true},
					{Attribute: "age", Op: snapshot.OpGte, Values: []any{18.0}},
					{Attribute: "beta", Op: snapshot.OpEq, Values: []any{true, "yes", 1.5, nil}, Negate: true},
				}, Serve: snapshot.Serve{Rollout: &snapshot.Rollout{
					Weights:  snapshot.Weights{{Variant: "zeta", Percent: 12.5}, {Variant: "alpha", Percent: 87.5}},
					BucketBy: "accountId", Salt: "s1",
				}}},
			},
			Default: snapshot.Serve{Rollout: &snapshot.Rollout{
				Weights: snapshot.Weights{{Variant: "mid", Percent: 33.333}, {Variant: "alpha", Percent: 66.667}},
			}},
		},
		Version: 1, UpdatedAt: t0,
	}
}

func newSegment(project, key string) domain.Segment {
	return domain.Segment{
		Project: project,
		Segment: snapshot.Segment{
			Key: key, Description: "Segment " + key,
			Include: []string{"u1", "u2"}, Exclude: []string{"u3"},
			Rules: []snapshot.SegmentRule{{Clauses: []snapshot.Clause{
				{Attribute: "email", Op: snapshot.OpEndsWith, Values: []any{"@example.com"}},
				{Attribute: "plan", Op: snapshot.OpIn, Values: []any{"pro", 3.0}},
			}}},
		},
		Version: 1, CreatedAt: t0, UpdatedAt: t0,
	}
}

// hash is a SHA-256 as stores keep for secrets: 32 arbitrary bytes.
func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newToken(id string) domain.Token {
	return domain.Token{ID: id, Name: "Token " + id, Role: domain.RoleEditor, Hash: hash(id),
		Prefix: "fpt_" + id, CreatedAt: t0, CreatedBy: "admin"}
}

func newSDKKey(id, project, env string) domain.SDKKey {
	return domain.SDKKey{ID: id, Project: project, Environment: env, Name: "Key " + id,
		Kind: domain.SDKKeyServer, Hash: hash(id), Prefix: "fps_" + id, CreatedAt: t0}
}

func newWebhook(id string) domain.Webhook {
	return domain.Webhook{ID: id, URL: "https://hooks.example.com/" + id, Events: []string{"flag.changed", "rollout.*"},
		Format: domain.WebhookFormatJSON, Secret: "secret-" + id, Description: "Hook " + id, Enabled: true, CreatedAt: t0}
}

func newDelivery(webhook string, next time.Time) domain.Delivery {
	return domain.Delivery{WebhookID: webhook, EventType: "flag.changed", Payload: json.RawMessage(`{"flag":"f","n":1}`),
		Status: domain.DeliveryPending, NextAttemptAt: next, CreatedAt: t0}
}

func newAudit(at time.Time, project, env, resourceType, resourceKey string, actor domain.Actor) domain.AuditEvent {
	return domain.AuditEvent{Time: at, Actor: actor, Action: resourceType + ".updated", Project: project,
		Environment: env, ResourceType: resourceType, ResourceKey: resourceKey,
		Before: json.RawMessage(`{"enabled":false}`), After: json.RawMessage(`{"enabled":true}`), Comment: "why"}
}
