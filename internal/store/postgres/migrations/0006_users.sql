-- Dashboard users and their sessions. email_key is the address lower-cased by Go, as in
-- SQLite, so that addresses are unique and found ignoring case alike in both. Sessions have no
-- foreign key: their subject is a user or a token, by kind.
CREATE TABLE users (
	id text COLLATE "C" PRIMARY KEY,
	email text NOT NULL,
	email_key text COLLATE "C" NOT NULL UNIQUE,
	name text NOT NULL,
	role text NOT NULL,
	password_hash bytea NOT NULL,
	created_at timestamptz NOT NULL,
	created_by text NOT NULL,
	last_login_at timestamptz
);

CREATE TABLE sessions (
	id text COLLATE "C" PRIMARY KEY,
	hash bytea NOT NULL UNIQUE,
	kind text NOT NULL,
	subject_id text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
