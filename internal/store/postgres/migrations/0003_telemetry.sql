-- Telemetry, apart from the flag state and without foreign keys to it: SDKs report flags that
-- were deleted or never created, and aggregates outlive the flags they describe.

-- One row per (project, environment, flag, variant, flag version, metric, window, resolution):
-- the sums and merged sketches of every batch that fell into the window. revision counts the
-- writes, so that a replica only replaces the row it read (see domain.TelemetryAggregate).
CREATE TABLE telemetry (
	project text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	flag text COLLATE "C" NOT NULL,
	variant text COLLATE "C" NOT NULL,
	version bigint NOT NULL,
	metric text COLLATE "C" NOT NULL,
	window_start timestamptz NOT NULL,
	-- the window's length in seconds
	resolution bigint NOT NULL,
	evaluations bigint NOT NULL,
	observations bigint NOT NULL,
	errors bigint NOT NULL,
	sum_x double precision NOT NULL,
	sum_x2 double precision NOT NULL,
	sum_log double precision NOT NULL,
	sum_log2 double precision NOT NULL,
	-- encoded HyperLogLog of the units, encoded DDSketch of the values; NULL when none
	units bytea,
	sketch bytea,
	last_seen timestamptz NOT NULL,
	revision bigint NOT NULL,
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
	project text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	flag text COLLATE "C" NOT NULL,
	last_evaluated timestamptz NOT NULL,
	PRIMARY KEY (project, environment, flag)
);
CREATE INDEX telemetry_last_evaluated_age ON telemetry_last_evaluated (last_evaluated);

-- Accepted batches, for deduplication, kept only as long as a resent batch could still be
-- accepted.
CREATE TABLE telemetry_batches (
	project text COLLATE "C" NOT NULL,
	environment text COLLATE "C" NOT NULL,
	instance text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	received_at timestamptz NOT NULL,
	PRIMARY KEY (project, environment, instance, seq)
);
CREATE INDEX telemetry_batches_age ON telemetry_batches (received_at);
