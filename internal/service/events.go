package service

import (
	"context"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Event types that webhooks can subscribe to. Changes announce the type of their resource;
// rollout and gate events come from the autopilot.
var EventTypes = []string{
	"project.changed", "environment.changed", "flag.changed", "segment.changed",
	"rollout.started", "rollout.advanced", "rollout.held", "rollout.paused", "rollout.resumed",
	"rollout.completed", "rollout.rolled_back", "rollout.aborted",
	"gate.passed", "gate.warning", "gate.failed",
}

// EventType returns the webhook event type of a change, or "" when such changes are not
// announced (tokens, SDK keys and webhooks are audited only). Rollout changes announce their
// action, such as rollout.rolled_back.
func EventType(resourceType, action string) string {
	switch resourceType {
	case "project", "environment", "flag", "segment":
		return resourceType + ".changed"
	case "rollout":
		return action
	case "gate":
		if action == "gate.passed" || action == "gate.warning" || action == "gate.failed" {
			return action
		}
	}
	return ""
}

// Subscribed reports whether an event type matches one of a webhook's patterns: an exact type,
// a family such as "rollout.*", or "*".
func Subscribed(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if p == "*" || p == eventType || (strings.HasSuffix(p, ".*") && strings.HasPrefix(eventType, p[:len(p)-1])) {
			return true
		}
	}
	return false
}

// validPattern reports whether p names a known event type or family.
func validPattern(p string) bool {
	if p == "*" || slices.Contains(EventTypes, p) {
		return true
	}
	if family, ok := strings.CutSuffix(p, ".*"); ok {
		return slices.ContainsFunc(EventTypes, func(t string) bool { return strings.HasPrefix(t, family+".") })
	}
	return false
}

// ListAudit returns audit events, newest first.
func (s *Service) ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEvent, error) {
	f.Limit = clampPage(domain.Page{Limit: f.Limit}).Limit
	return s.store.ListAudit(ctx, f)
}
