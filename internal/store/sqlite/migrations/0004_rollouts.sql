-- Guarded rollouts: one row per flag and environment (a new rollout replaces a finished one),
-- with the decision engine's state, and the log of every decision with its evidence.
CREATE TABLE rollouts (
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	flag TEXT NOT NULL,
	treatment TEXT NOT NULL,
	control TEXT NOT NULL,
	plan TEXT NOT NULL,
	status TEXT NOT NULL,
	reason TEXT NOT NULL,
	step INTEGER NOT NULL,
	share REAL NOT NULL,
	config_version INTEGER NOT NULL,
	state TEXT NOT NULL,
	observed TIMESTAMP NOT NULL,
	started_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (project, flag, environment),
	FOREIGN KEY (project, flag, environment) REFERENCES flag_configs (project, flag, environment) ON DELETE CASCADE
);
CREATE INDEX rollouts_status ON rollouts (status);

CREATE TABLE rollout_decisions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	flag TEXT NOT NULL,
	time TIMESTAMP NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	reason TEXT NOT NULL,
	step INTEGER NOT NULL,
	share REAL NOT NULL,
	evidence TEXT NOT NULL
);
CREATE INDEX rollout_decisions_rollout ON rollout_decisions (project, flag, environment, id);
