-- Flags whose variants SDKs attribute outcomes to (see snapshot.Config.Monitor).
ALTER TABLE flag_configs ADD COLUMN monitor BOOLEAN NOT NULL DEFAULT FALSE;
