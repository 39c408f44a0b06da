-- Times are TIMESTAMP so that the driver parses them back; it writes them as UTC text
-- (YYYY-MM-DD HH:MM:SS[.ffffff]+00:00), which sorts and compares correctly as text.
-- Nested model values are JSON text.

CREATE TABLE projects (
	key TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);

CREATE TABLE environments (
	project TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
	key TEXT NOT NULL,
	name TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, key)
);

CREATE TABLE flags (
	project TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
	key TEXT NOT NULL,
	type TEXT NOT NULL,
	variants TEXT NOT NULL,
	description TEXT NOT NULL,
	tags TEXT NOT NULL,
	owner TEXT NOT NULL,
	lifecycle TEXT NOT NULL,
	expected_removal TEXT NOT NULL,
	-- key, description and owner lower-cased, for FlagFilter.Query
	search TEXT NOT NULL,
	version INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, key)
);

CREATE TABLE flag_configs (
	project TEXT NOT NULL,
	flag TEXT NOT NULL,
	environment TEXT NOT NULL,
	enabled BOOLEAN NOT NULL,
	off_variant TEXT NOT NULL,
	prerequisites TEXT NOT NULL,
	rules TEXT NOT NULL,
	default_serve TEXT NOT NULL,
	version INTEGER NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, flag, environment),
	FOREIGN KEY (project, flag) REFERENCES flags (project, key) ON DELETE CASCADE,
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);
CREATE INDEX flag_configs_environment ON flag_configs (project, environment, flag);

CREATE TABLE segments (
	project TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
	key TEXT NOT NULL,
	description TEXT NOT NULL,
	include_keys TEXT NOT NULL,
	exclude_keys TEXT NOT NULL,
	rules TEXT NOT NULL,
	version INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, key)
);

CREATE TABLE tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	hash BLOB NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL
);

CREATE TABLE sdk_keys (
	id TEXT PRIMARY KEY,
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	hash BLOB NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);
CREATE INDEX sdk_keys_environment ON sdk_keys (project, environment, id);

-- No foreign keys: the log outlives what it tells about. AUTOINCREMENT so that ids are never
-- reused and continue after restored ones.
CREATE TABLE audit_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	occurred_at TIMESTAMP NOT NULL,
	actor_kind TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	actor_name TEXT NOT NULL,
	action TEXT NOT NULL,
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_key TEXT NOT NULL,
	before_state TEXT,
	after_state TEXT,
	comment TEXT NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project, id);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_key, id);

CREATE TABLE webhooks (
	id TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	events TEXT NOT NULL,
	format TEXT NOT NULL,
	secret TEXT NOT NULL,
	description TEXT NOT NULL,
	enabled BOOLEAN NOT NULL,
	created_at TIMESTAMP NOT NULL
);

CREATE TABLE deliveries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_type TEXT NOT NULL,
	payload TEXT NOT NULL,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at TIMESTAMP NOT NULL,
	last_status INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	delivered_at TIMESTAMP
);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
