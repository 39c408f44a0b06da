package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// reader implements domain.Reader on a pool or inside a transaction.
type reader struct {
	q Queryer
	d Dialect
}

const projectCols = `key, name, description, created_at, updated_at`

func scanProject(s scanner) (p domain.Project, err error) {
	err = s.Scan(&p.Key, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

func (r reader) GetProject(ctx context.Context, key string) (domain.Project, error) {
	return get(ctx, r.q, scanProject, domain.NotFound("project", key),
		`SELECT `+projectCols+` FROM projects WHERE key = $1`, key)
}

func (r reader) ListProjects(ctx context.Context, page domain.Page) ([]domain.Project, error) {
	return list(ctx, r.q, scanProject,
		`SELECT `+projectCols+` FROM projects WHERE key > $1 ORDER BY key LIMIT $2`,
		page.After, pageLimit(page.Limit))
}

func (r reader) dumpProjects(ctx context.Context) ([]domain.Project, error) {
	return list(ctx, r.q, scanProject, `SELECT `+projectCols+` FROM projects ORDER BY key`)
}

const environmentCols = `project, key, name, created_at`

func scanEnvironment(s scanner) (e domain.Environment, err error) {
	err = s.Scan(&e.Project, &e.Key, &e.Name, &e.CreatedAt)
	return e, err
}

func (r reader) GetEnvironment(ctx context.Context, project, key string) (domain.Environment, error) {
	return get(ctx, r.q, scanEnvironment, domain.NotFound("environment", project+"/"+key),
		`SELECT `+environmentCols+` FROM environments WHERE project = $1 AND key = $2`, project, key)
}

func (r reader) ListEnvironments(ctx context.Context, project string) ([]domain.Environment, error) {
	return list(ctx, r.q, scanEnvironment,
		`SELECT `+environmentCols+` FROM environments WHERE project = $1 ORDER BY key`, project)
}

func (r reader) dumpEnvironments(ctx context.Context) ([]domain.Environment, error) {
	return list(ctx, r.q, scanEnvironment,
		`SELECT `+environmentCols+` FROM environments ORDER BY project, key`)
}

const flagCols = `project, key, type, variants, description, tags, owner, lifecycle,
	expected_removal, version, created_at, updated_at`

func scanFlag(s scanner) (f domain.Flag, err error) {
	err = s.Scan(&f.Project, &f.Key, &f.Type, jsonColumn{&f.Variants}, &f.Description,
		jsonColumn{&f.Tags}, &f.Owner, &f.Lifecycle, &f.ExpectedRemoval, &f.Version,
		&f.CreatedAt, &f.UpdatedAt)
	return f, err
}

func (r reader) GetFlag(ctx context.Context, project, key string) (domain.Flag, error) {
	return get(ctx, r.q, scanFlag, domain.NotFound("flag", project+"/"+key),
		`SELECT `+flagCols+` FROM flags WHERE project = $1 AND key = $2`, project, key)
}

func (r reader) ListFlags(ctx context.Context, project string, filter domain.FlagFilter) ([]domain.Flag, error) {
	var a args
	where := []string{"project = " + a.add(project), "key > " + a.add(filter.After)}
	if filter.Tag != "" {
		where = append(where, r.d.HasTag("tags", a.add(filter.Tag)))
	}
	if filter.Query != "" {
		where = append(where, `search LIKE `+a.add(likeContains(strings.ToLower(filter.Query)))+` ESCAPE '\'`)
	}
	return list(ctx, r.q, scanFlag, `SELECT `+flagCols+` FROM flags WHERE `+
		strings.Join(where, " AND ")+` ORDER BY key LIMIT `+a.add(pageLimit(filter.Limit)), a...)
}

func (r reader) dumpFlags(ctx context.Context) ([]domain.Flag, error) {
	return list(ctx, r.q, scanFlag, `SELECT `+flagCols+` FROM flags ORDER BY project, key`)
}

const flagConfigCols = `project, flag, environment, enabled, off_variant, prerequisites, rules,
	default_serve, version, updated_at, monitor`

func scanFlagConfig(s scanner) (c domain.FlagConfig, err error) {
	err = s.Scan(&c.Project, &c.Flag, &c.Environment, &c.Enabled, &c.OffVariant,
		jsonColumn{&c.Prerequisites}, jsonColumn{&c.Rules}, jsonColumn{&c.Default}, &c.Version,
		&c.UpdatedAt, &c.Monitor)
	return c, err
}

func (r reader) GetFlagConfig(ctx context.Context, project, flag, env string) (domain.FlagConfig, error) {
	return get(ctx, r.q, scanFlagConfig, domain.NotFound("flag configuration", project+"/"+flag+"/"+env),
		`SELECT `+flagConfigCols+` FROM flag_configs
		WHERE project = $1 AND flag = $2 AND environment = $3`, project, flag, env)
}

func (r reader) ListFlagConfigs(ctx context.Context, project, env string) ([]domain.FlagConfig, error) {
	return list(ctx, r.q, scanFlagConfig, `SELECT `+flagConfigCols+` FROM flag_configs
		WHERE project = $1 AND environment = $2 ORDER BY flag`, project, env)
}

func (r reader) ListFlagConfigsOfFlag(ctx context.Context, project, flag string) ([]domain.FlagConfig, error) {
	return list(ctx, r.q, scanFlagConfig, `SELECT `+flagConfigCols+` FROM flag_configs
		WHERE project = $1 AND flag = $2 ORDER BY environment`, project, flag)
}

func (r reader) dumpFlagConfigs(ctx context.Context) ([]domain.FlagConfig, error) {
	return list(ctx, r.q, scanFlagConfig,
		`SELECT `+flagConfigCols+` FROM flag_configs ORDER BY project, flag, environment`)
}

const segmentCols = `project, key, description, include_keys, exclude_keys, rules, version,
	created_at, updated_at`

func scanSegment(s scanner) (sg domain.Segment, err error) {
	err = s.Scan(&sg.Project, &sg.Key, &sg.Description, jsonColumn{&sg.Include},
		jsonColumn{&sg.Exclude}, jsonColumn{&sg.Rules}, &sg.Version, &sg.CreatedAt, &sg.UpdatedAt)
	return sg, err
}

func (r reader) GetSegment(ctx context.Context, project, key string) (domain.Segment, error) {
	return get(ctx, r.q, scanSegment, domain.NotFound("segment", project+"/"+key),
		`SELECT `+segmentCols+` FROM segments WHERE project = $1 AND key = $2`, project, key)
}

func (r reader) ListSegments(ctx context.Context, project string, page domain.Page) ([]domain.Segment, error) {
	return list(ctx, r.q, scanSegment, `SELECT `+segmentCols+` FROM segments
		WHERE project = $1 AND key > $2 ORDER BY key LIMIT $3`,
		project, page.After, pageLimit(page.Limit))
}

func (r reader) dumpSegments(ctx context.Context) ([]domain.Segment, error) {
	return list(ctx, r.q, scanSegment, `SELECT `+segmentCols+` FROM segments ORDER BY project, key`)
}

const auditCols = `id, occurred_at, actor_kind, actor_id, actor_name, action, project, environment,
	resource_type, resource_key, before_state, after_state, comment`

func scanAudit(s scanner) (e domain.AuditEvent, err error) {
	err = s.Scan(&e.ID, &e.Time, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Action,
		&e.Project, &e.Environment, &e.ResourceType, &e.ResourceKey, rawColumn{&e.Before},
		rawColumn{&e.After}, &e.Comment)
	return e, err
}

func (r reader) ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEvent, error) {
	var a args
	where := []string{"TRUE"}
	for _, eq := range []struct{ col, v string }{
		{"project", f.Project}, {"environment", f.Environment},
		{"resource_type", f.ResourceType}, {"resource_key", f.ResourceKey},
		{"actor_kind", f.ActorKind}, {"actor_id", f.ActorID},
	} {
		if eq.v != "" {
			where = append(where, eq.col+" = "+a.add(eq.v))
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "occurred_at >= "+a.add(ts(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "occurred_at < "+a.add(ts(f.Until)))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < "+a.add(f.BeforeID))
	}
	return list(ctx, r.q, scanAudit, `SELECT `+auditCols+` FROM audit_events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+a.add(pageLimit(f.Limit)), a...)
}

func (r reader) dumpAudit(ctx context.Context) ([]domain.AuditEvent, error) {
	return list(ctx, r.q, scanAudit, `SELECT `+auditCols+` FROM audit_events ORDER BY id`)
}

const tokenCols = `id, name, role, hash, prefix, created_at, created_by`

func scanToken(s scanner) (t domain.Token, err error) {
	err = s.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &t.Prefix, &t.CreatedAt, &t.CreatedBy)
	return t, err
}

func (r reader) GetToken(ctx context.Context, id string) (domain.Token, error) {
	return get(ctx, r.q, scanToken, domain.NotFound("token", id),
		`SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id)
}

func (r reader) GetTokenByHash(ctx context.Context, hash []byte) (domain.Token, error) {
	return get(ctx, r.q, scanToken, domain.Errorf(domain.CodeNotFound, "token not found"),
		`SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash)
}

func (r reader) ListTokens(ctx context.Context) ([]domain.Token, error) {
	return list(ctx, r.q, scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
}

func (r reader) dumpTokens(ctx context.Context) ([]domain.DumpedToken, error) {
	tokens, err := r.ListTokens(ctx)
	return dumped(tokens, err, func(t domain.Token) domain.DumpedToken { return domain.DumpedToken{Token: t, Hash: t.Hash} })
}

const sdkKeyCols = `id, project, environment, name, kind, hash, prefix, created_at`

func scanSDKKey(s scanner) (k domain.SDKKey, err error) {
	err = s.Scan(&k.ID, &k.Project, &k.Environment, &k.Name, &k.Kind, &k.Hash, &k.Prefix, &k.CreatedAt)
	return k, err
}

func (r reader) GetSDKKey(ctx context.Context, id string) (domain.SDKKey, error) {
	return get(ctx, r.q, scanSDKKey, domain.NotFound("SDK key", id),
		`SELECT `+sdkKeyCols+` FROM sdk_keys WHERE id = $1`, id)
}

func (r reader) GetSDKKeyByHash(ctx context.Context, hash []byte) (domain.SDKKey, error) {
	return get(ctx, r.q, scanSDKKey, domain.Errorf(domain.CodeNotFound, "SDK key not found"),
		`SELECT `+sdkKeyCols+` FROM sdk_keys WHERE hash = $1`, hash)
}

func (r reader) ListSDKKeys(ctx context.Context, project, env string) ([]domain.SDKKey, error) {
	return list(ctx, r.q, scanSDKKey, `SELECT `+sdkKeyCols+` FROM sdk_keys
		WHERE project = $1 AND environment = $2 ORDER BY id`, project, env)
}

func (r reader) dumpSDKKeys(ctx context.Context) ([]domain.DumpedKey, error) {
	ks, err := list(ctx, r.q, scanSDKKey, `SELECT `+sdkKeyCols+` FROM sdk_keys ORDER BY id`)
	return dumped(ks, err, func(k domain.SDKKey) domain.DumpedKey { return domain.DumpedKey{SDKKey: k, Hash: k.Hash} })
}

const webhookCols = `id, url, events, format, secret, description, enabled, created_at`

func scanWebhook(s scanner) (w domain.Webhook, err error) {
	err = s.Scan(&w.ID, &w.URL, jsonColumn{&w.Events}, &w.Format, &w.Secret, &w.Description,
		&w.Enabled, &w.CreatedAt)
	return w, err
}

func (r reader) GetWebhook(ctx context.Context, id string) (domain.Webhook, error) {
	return get(ctx, r.q, scanWebhook, domain.NotFound("webhook", id),
		`SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id)
}

func (r reader) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	return list(ctx, r.q, scanWebhook, `SELECT `+webhookCols+` FROM webhooks ORDER BY id`)
}

func (r reader) dumpWebhooks(ctx context.Context) ([]domain.DumpedHook, error) {
	hs, err := r.ListWebhooks(ctx)
	return dumped(hs, err, func(h domain.Webhook) domain.DumpedHook { return domain.DumpedHook{Webhook: h, Secret: h.Secret} })
}

const deliveryCols = `id, webhook_id, event_type, payload, status, attempts, next_attempt_at,
	last_status, last_error, created_at, delivered_at`

func scanDelivery(s scanner) (d domain.Delivery, err error) {
	err = s.Scan(&d.ID, &d.WebhookID, &d.EventType, rawColumn{&d.Payload}, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt)
	return d, err
}

func (r reader) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	return list(ctx, r.q, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`, webhookID, pageLimit(limit))
}

func (r reader) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]domain.Delivery, error) {
	// The status is a literal so that the partial index deliveries_pending applies.
	return list(ctx, r.q, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE status = '`+domain.DeliveryPending+`' AND next_attempt_at <= $1 ORDER BY id LIMIT $2`,
		ts(now), pageLimit(limit))
}

func (r reader) dumpDeliveries(ctx context.Context) ([]domain.Delivery, error) {
	return list(ctx, r.q, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries ORDER BY id`)
}
