-- Telemetry, apart from the flag state and without foreign keys to it: SDKs report flags that
-- were deleted or never created, and aggregates outlive the flags they describe.

-- One row per (project, environment, flag, variant, flag version, metric, window, resolution):
-- the sums and merged sketches of every batch that fell into the window. revision counts the
-- writes, so that a writer only replaces the row it read (see domain.TelemetryAggregate).
CREATE TABLE telemetry (
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	flag TEXT NOT NULL,
	variant TEXT NOT NULL,
	version INTEGER NOT NULL,
	metric TEXT NOT NULL,
	window_start TIMESTAMP NOT NULL,
	-- the window's length in seconds
	resolution INTEGER NOT NULL,
	evaluations INTEGER NOT NULL,
	observations INTEGER NOT NULL,
	errors INTEGER NOT NULL,
	sum_x REAL NOT NULL,
	sum_x2 REAL NOT NULL,
	sum_log REAL NOT NULL,
	sum_log2 REAL NOT NULL,
	-- encoded HyperLogLog of the units, encoded DDSketch of the values; NULL when none
	units BLOB,
	sketch BLOB,
	last_seen TIMESTAMP NOT NULL,
	revision INTEGER NOT NULL,
	PRIMARY KEY (project, environment, window_start, flag, variant, version, metric, resolution)
);
-- One flag's series.
CREATE INDEX telemetry_flag ON telemetry (project, environment, flag, window_start);
-- Downsampling finds the windows finer than the resolution it merges them into.
CREATE INDEX telemetry_resolution ON telemetry (resolution, window_start);
-- Retention drops the oldest windows.
CREATE INDEX telemetry_age ON telemetry (window_start);

-- The end of each flag's latest window with evaluations, kept as the windows are written: the
-- telemetry table has too many rows to find it per flag at read time.
CREATE TABLE telemetry_last_evaluated (
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	flag TEXT NOT NULL,
	last_evaluated TIMESTAMP NOT NULL,
	PRIMARY KEY (project, environment, flag)
);
CREATE INDEX telemetry_last_evaluated_age ON telemetry_last_evaluated (last_evaluated);

-- Accepted batches, for deduplication, kept only as long as a resent batch could still be
-- accepted.
CREATE TABLE telemetry_batches (
	project TEXT NOT NULL,
	environment TEXT NOT NULL,
	instance TEXT NOT NULL,
	seq INTEGER NOT NULL,
	received_at TIMESTAMP NOT NULL,
	PRIMARY KEY (project, environment, instance, seq)
);
CREATE INDEX telemetry_batches_age ON telemetry_batches (received_at);
