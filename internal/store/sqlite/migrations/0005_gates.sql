-- Release gates and their evaluations; objectives and results are JSON.
CREATE TABLE gates (
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	key TEXT NOT NULL,
	description TEXT NOT NULL,
	flag TEXT NOT NULL,
	rollback_on_fail BOOLEAN NOT NULL,
	events TEXT NOT NULL,
	objectives TEXT NOT NULL,
	version INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, environment, key),
	FOREIGN KEY (project, environment) REFERENCES environments (project, key) ON DELETE CASCADE
);

CREATE TABLE gate_evaluations (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	gate TEXT NOT NULL,
	time TIMESTAMP NOT NULL,
	from_time TIMESTAMP NOT NULL,
	to_time TIMESTAMP NOT NULL,
	trigger_event TEXT NOT NULL,
	actor TEXT NOT NULL,
	result TEXT NOT NULL,
	objectives TEXT NOT NULL,
	rolled_back BOOLEAN NOT NULL,
	FOREIGN KEY (project, environment, gate) REFERENCES gates (project, environment, key) ON DELETE CASCADE
);
CREATE INDEX gate_evaluations_gate ON gate_evaluations (project, environment, gate, id);
