-- Dashboard users and their sessions. email_key is the address lower-cased by Go (SQLite's
-- lower() folds ASCII only), so that addresses are unique and found ignoring case. Sessions
-- have no foreign key: their subject is a user or a token, by kind.
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email TEXT NOT NULL,
	email_key TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	password_hash BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL,
	last_login_at TIMESTAMP
);

CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	hash BLOB NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	last_seen_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
