package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// writer implements domain.Tx in a write transaction.
//
// Inserts use ON CONFLICT DO NOTHING and report a conflict when no row was inserted, rather
// than catching a unique violation: in PostgreSQL a failed statement aborts the whole
// transaction, and fn may want to go on after a conflict. For the same reason parents are
// looked up before inserting children, which also names the missing one; a foreign-key
// violation is left only to a parent deleted concurrently.
type writer struct {
	reader
	tx Querier
}

var _ domain.Tx = (*writer)(nil)

// insert adds one row, values in the order of cols; a row that is there already is a conflict.
func (w *writer) insert(ctx context.Context, kind, key, table, cols string, values ...any) error {
	n, err := w.tx.Exec(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES (`+placeholders(len(values))+`)
		ON CONFLICT DO NOTHING`, values...)
	if err == nil && n == 0 {
		return domain.Errorf(domain.CodeConflict, "%s %q already exists", kind, key)
	}
	return w.parentGone(err)
}

// parentGone maps a foreign-key violation of an insert, a parent deleted by a concurrent
// transaction since it was looked up, to not_found.
func (w *writer) parentGone(err error) error {
	if err != nil && w.d.IsForeignKeyViolation(err) {
		return domain.Errorf(domain.CodeNotFound, "a referenced item no longer exists")
	}
	return err
}

// changed reports not_found when an update or delete changed nothing.
func changed(n int64, err error, kind, key string) error {
	if err == nil && n == 0 {
		return domain.NotFound(kind, key)
	}
	return err
}

// versioned explains a versioned update (… WHERE version = base) that changed nothing: the
// item is missing, or another write moved it past base.
func (w *writer) versioned(ctx context.Context, n int64, err error, kind, key string, base int64, versionQuery string, args ...any) error {
	if err != nil || n > 0 {
		return err
	}
	v, err := get(ctx, w.tx, scanInt64, domain.NotFound(kind, key), versionQuery, args...)
	if err != nil {
		return err
	}
	return domain.Errorf(domain.CodeConflict, "%s %q was changed: it is at version %d, not %d", kind, key, v, base)
}

func (w *writer) CreateProject(ctx context.Context, p domain.Project) error {
	return w.insert(ctx, "project", p.Key, "projects", projectCols,
		p.Key, p.Name, p.Description, ts(p.CreatedAt), ts(p.UpdatedAt))
}

func (w *writer) UpdateProject(ctx context.Context, p domain.Project) error {
	n, err := w.tx.Exec(ctx, `UPDATE projects SET name = $2, description = $3, updated_at = $4
		WHERE key = $1`, p.Key, p.Name, p.Description, ts(p.UpdatedAt))
	return changed(n, err, "project", p.Key)
}

// DeleteProject relies on ON DELETE CASCADE for what the project holds; audit events have no
// foreign key, so they stay.
func (w *writer) DeleteProject(ctx context.Context, key string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM projects WHERE key = $1`, key)
	return changed(n, err, "project", key)
}

func (w *writer) CreateEnvironment(ctx context.Context, e domain.Environment) error {
	if _, err := w.GetProject(ctx, e.Project); err != nil {
		return err
	}
	return w.insert(ctx, "environment", e.Project+"/"+e.Key, "environments", environmentCols,
		e.Project, e.Key, e.Name, ts(e.CreatedAt))
}

func (w *writer) DeleteEnvironment(ctx context.Context, project, key string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM environments WHERE project = $1 AND key = $2`, project, key)
	return changed(n, err, "environment", project+"/"+key)
}

func (w *writer) CreateFlag(ctx context.Context, f domain.Flag) error {
	if _, err := w.GetProject(ctx, f.Project); err != nil {
		return err
	}
	return w.insertFlag(ctx, f, 1)
}

func (w *writer) insertFlag(ctx context.Context, f domain.Flag, version int64) error {
	return w.insert(ctx, "flag", f.Project+"/"+f.Key, "flags", flagCols+", search",
		f.Project, f.Key, f.Type, jsonValue{f.Variants}, f.Description, jsonValue{f.Tags}, f.Owner,
		f.Lifecycle, f.ExpectedRemoval, version, ts(f.CreatedAt), ts(f.UpdatedAt), flagSearch(f))
}

func (w *writer) UpdateFlag(ctx context.Context, f domain.Flag, baseVersion int64) error {
	n, err := w.tx.Exec(ctx, `UPDATE flags SET type = $3, variants = $4, description = $5, tags = $6,
		owner = $7, lifecycle = $8, expected_removal = $9, search = $10, updated_at = $11,
		version = $12 WHERE project = $1 AND key = $2 AND version = $13`,
		f.Project, f.Key, f.Type, jsonValue{f.Variants}, f.Description, jsonValue{f.Tags}, f.Owner,
		f.Lifecycle, f.ExpectedRemoval, flagSearch(f), ts(f.UpdatedAt), baseVersion+1, baseVersion)
	return w.versioned(ctx, n, err, "flag", f.Project+"/"+f.Key, baseVersion,
		`SELECT version FROM flags WHERE project = $1 AND key = $2`, f.Project, f.Key)
}

func (w *writer) DeleteFlag(ctx context.Context, project, key string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM flags WHERE project = $1 AND key = $2`, project, key)
	return changed(n, err, "flag", project+"/"+key)
}

func (w *writer) PutFlagConfig(ctx context.Context, c domain.FlagConfig, baseVersion int64) error {
	if baseVersion == 0 {
		if _, err := w.GetFlag(ctx, c.Project, c.Flag); err != nil {
			return err
		}
		if _, err := w.GetEnvironment(ctx, c.Project, c.Environment); err != nil {
			return err
		}
		return w.insertFlagConfig(ctx, c, 1)
	}
	n, err := w.tx.Exec(ctx, `UPDATE flag_configs SET enabled = $4, off_variant = $5,
		prerequisites = $6, rules = $7, default_serve = $8, updated_at = $9, version = $10, monitor = $12
		WHERE project = $1 AND flag = $2 AND environment = $3 AND version = $11`,
		c.Project, c.Flag, c.Environment, c.Enabled, c.OffVariant, jsonValue{c.Prerequisites},
		jsonValue{c.Rules}, jsonValue{c.Default}, ts(c.UpdatedAt), baseVersion+1, baseVersion, c.Monitor)
	return w.versioned(ctx, n, err, "flag configuration", c.Project+"/"+c.Flag+"/"+c.Environment,
		baseVersion, `SELECT version FROM flag_configs
		WHERE project = $1 AND flag = $2 AND environment = $3`, c.Project, c.Flag, c.Environment)
}

func (w *writer) insertFlagConfig(ctx context.Context, c domain.FlagConfig, version int64) error {
	return w.insert(ctx, "flag configuration", c.Project+"/"+c.Flag+"/"+c.Environment,
		"flag_configs", flagConfigCols,
		c.Project, c.Flag, c.Environment, c.Enabled, c.OffVariant, jsonValue{c.Prerequisites},
		jsonValue{c.Rules}, jsonValue{c.Default}, version, ts(c.UpdatedAt), c.Monitor)
}

func (w *writer) CreateSegment(ctx context.Context, s domain.Segment) error {
	if _, err := w.GetProject(ctx, s.Project); err != nil {
		return err
	}
	return w.insertSegment(ctx, s, 1)
}

func (w *writer) insertSegment(ctx context.Context, s domain.Segment, version int64) error {
	return w.insert(ctx, "segment", s.Project+"/"+s.Key, "segments", segmentCols,
		s.Project, s.Key, s.Description, jsonValue{s.Include}, jsonValue{s.Exclude},
		jsonValue{s.Rules}, version, ts(s.CreatedAt), ts(s.UpdatedAt))
}

func (w *writer) UpdateSegment(ctx context.Context, s domain.Segment, baseVersion int64) error {
	n, err := w.tx.Exec(ctx, `UPDATE segments SET description = $3, include_keys = $4,
		exclude_keys = $5, rules = $6, updated_at = $7, version = $8
		WHERE project = $1 AND key = $2 AND version = $9`,
		s.Project, s.Key, s.Description, jsonValue{s.Include}, jsonValue{s.Exclude},
		jsonValue{s.Rules}, ts(s.UpdatedAt), baseVersion+1, baseVersion)
	return w.versioned(ctx, n, err, "segment", s.Project+"/"+s.Key, baseVersion,
		`SELECT version FROM segments WHERE project = $1 AND key = $2`, s.Project, s.Key)
}

func (w *writer) DeleteSegment(ctx context.Context, project, key string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM segments WHERE project = $1 AND key = $2`, project, key)
	return changed(n, err, "segment", project+"/"+key)
}

// CreateToken reports a conflict for a taken id or a taken hash alike.
func (w *writer) CreateToken(ctx context.Context, t domain.Token) error {
	return w.insert(ctx, "token", t.ID, "tokens", tokenCols,
		t.ID, t.Name, t.Role, t.Hash, t.Prefix, ts(t.CreatedAt), t.CreatedBy)
}

func (w *writer) DeleteToken(ctx context.Context, id string) error {
	if err := w.deleteSessionsOf(ctx, domain.SessionToken, id, ""); err != nil {
		return err
	}
	n, err := w.tx.Exec(ctx, `DELETE FROM tokens WHERE id = $1`, id)
	return changed(n, err, "token", id)
}

// CreateSDKKey reports a conflict for a taken id or a taken hash alike.
func (w *writer) CreateSDKKey(ctx context.Context, k domain.SDKKey) error {
	if _, err := w.GetEnvironment(ctx, k.Project, k.Environment); err != nil {
		return err
	}
	return w.insert(ctx, "SDK key", k.ID, "sdk_keys", sdkKeyCols,
		k.ID, k.Project, k.Environment, k.Name, k.Kind, k.Hash, k.Prefix, ts(k.CreatedAt))
}

func (w *writer) DeleteSDKKey(ctx context.Context, id string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM sdk_keys WHERE id = $1`, id)
	return changed(n, err, "SDK key", id)
}

func (w *writer) AppendAudit(ctx context.Context, e *domain.AuditEvent) error {
	return w.insertAudit(ctx, e, false)
}

// insertAudit stores e with a generated id, or with its own (keepID, for restores).
func (w *writer) insertAudit(ctx context.Context, e *domain.AuditEvent, keepID bool) error {
	return w.insertWithID(ctx, "audit_events", auditCols, &e.ID, keepID,
		ts(e.Time), e.Actor.Kind, e.Actor.ID, e.Actor.Name, e.Action, e.Project, e.Environment,
		e.ResourceType, e.ResourceKey, rawOrNull(e.Before), rawOrNull(e.After), e.Comment)
}

func (w *writer) CreateWebhook(ctx context.Context, h domain.Webhook) error {
	return w.insert(ctx, "webhook", h.ID, "webhooks", webhookCols,
		h.ID, h.URL, jsonValue{h.Events}, h.Format, h.Secret, h.Description, h.Enabled, ts(h.CreatedAt))
}

func (w *writer) UpdateWebhook(ctx context.Context, h domain.Webhook) error {
	n, err := w.tx.Exec(ctx, `UPDATE webhooks SET url = $2, events = $3, format = $4, secret = $5,
		description = $6, enabled = $7 WHERE id = $1`,
		h.ID, h.URL, jsonValue{h.Events}, h.Format, h.Secret, h.Description, h.Enabled)
	return changed(n, err, "webhook", h.ID)
}

// DeleteWebhook also removes the webhook's deliveries (ON DELETE CASCADE).
func (w *writer) DeleteWebhook(ctx context.Context, id string) error {
	n, err := w.tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	return changed(n, err, "webhook", id)
}

// EnqueueDelivery stores d as pending, whatever its Status said.
func (w *writer) EnqueueDelivery(ctx context.Context, d *domain.Delivery) error {
	if _, err := w.GetWebhook(ctx, d.WebhookID); err != nil {
		return err
	}
	d.Status = domain.DeliveryPending
	return w.insertDelivery(ctx, d, false)
}

func (w *writer) insertDelivery(ctx context.Context, d *domain.Delivery, keepID bool) error {
	return w.insertWithID(ctx, "deliveries", deliveryCols, &d.ID, keepID,
		d.WebhookID, d.EventType, string(d.Payload), d.Status, d.Attempts, ts(d.NextAttemptAt),
		d.LastStatus, d.LastError, ts(d.CreatedAt), tsOrNull(d.DeliveredAt))
}

func (w *writer) UpdateDelivery(ctx context.Context, d domain.Delivery) error {
	n, err := w.tx.Exec(ctx, `UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
		last_status = $5, last_error = $6, delivered_at = $7 WHERE id = $1`,
		d.ID, d.Status, d.Attempts, ts(d.NextAttemptAt), d.LastStatus, d.LastError,
		tsOrNull(d.DeliveredAt))
	return changed(n, err, "delivery", strconv.FormatInt(d.ID, 10))
}

// insertWithID inserts a row of a table whose first column, id, the database generates, and
// sets *id; with keepID it inserts *id instead (for restores). cols lists every column.
func (w *writer) insertWithID(ctx context.Context, table, cols string, id *int64, keepID bool, values ...any) error {
	if keepID {
		values = append([]any{*id}, values...)
	} else {
		cols = strings.TrimPrefix(cols, "id, ")
	}
	newID, err := get(ctx, w.tx, scanInt64, nil, `INSERT INTO `+table+` (`+cols+`)
		VALUES (`+placeholders(len(values))+`) RETURNING id`, values...)
	if err != nil {
		return w.parentGone(err)
	}
	*id = newID
	return nil
}
