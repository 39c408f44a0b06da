package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flagpilot.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:9000\ndataDir: /from/file\nlogLevel: warn\n"), 0o600)
	cfg, err := Load("serve", []string{"--config", file, "--log-level", "debug"}, env(map[string]string{
		"FLAGPILOT_DATA_DIR": "/from/env",
		"FLAGPILOT_ADDR":     "127.0.0.1:9100",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9100" || cfg.DataDir != "/from/env" || cfg.LogLevel != "debug" || cfg.LogFormat != "json" {
		t.Fatalf("got %+v", cfg)
	}
}

func TestSecretFromFileAndRedaction(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	os.WriteFile(secret, []byte("fpa_secret\n"), 0o600)
	cfg, err := Load("serve", nil, env(map[string]string{
		"FLAGPILOT_ADMIN_TOKEN_FILE": secret,
		"FLAGPILOT_DATABASE_URL":     "postgres://app:hunter2@db:5432/flags",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminToken != "fpa_secret" {
		t.Fatalf("admin token from file = %q", cfg.AdminToken)
	}
	var out strings.Builder
	if err := cfg.Redacted().Dump(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), "fpa_secret") {
		t.Fatalf("dump shows a secret:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "postgres://app:REDACTED@db:5432/flags") {
		t.Fatalf("dump lost the non-secret part of the URL:\n%s", out.String())
	}
}

func TestInvalidSettingsNameTheSetting(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--addr", "nonsense"}, nil, "addr:"},
		{[]string{"--log-level", "loud"}, nil, "log-level:"},
		{[]string{"--log-format", "xml"}, nil, "log-format:"},
		{nil, map[string]string{"FLAGPILOT_MAX_BODY_BYTES": "many"}, "FLAGPILOT_MAX_BODY_BYTES: expected an integer"},
		{[]string{"--database-url", "mysql://x"}, nil, "database-url:"},
		{[]string{"--shutdown-timeout", "soon"}, nil, "-shutdown-timeout: expected a duration"},
		{[]string{"stray"}, nil, `unexpected argument "stray"`},
		{[]string{"--relay-from", "upstream:8080", "--sdk-key", "fps_x"}, nil, "relay-from: expected"},
		{[]string{"--relay-from", "http://upstream:8080"}, nil, "sdk-key: a relay needs a server SDK key"},
		{[]string{"--relay-from", "http://upstream:8080", "--sdk-key", "fpc_x"}, nil, "sdk-key: a relay needs a server SDK key"},
		{[]string{"--relay-from", "http://upstream:8080", "--sdk-key", "fps_x", "--database-url", "postgres://db/flags"}, nil, "relay-from: a relay has no database"},
		{nil, map[string]string{"FLAGPILOT_SDK_KEY": "fps_x"}, "sdk-key: only a relay"},
		{[]string{"--telemetry-window", "7s"}, nil, "telemetry-window: 7s is not whole seconds that divide an hour"},
		{[]string{"--telemetry-window", "1500ms"}, nil, "telemetry-window:"},
		{nil, map[string]string{"FLAGPILOT_TELEMETRY_WINDOW": "soon"}, "FLAGPILOT_TELEMETRY_WINDOW: expected a duration"},
		{[]string{"--telemetry-lateness", "-1s"}, nil, "telemetry-lateness:"},
		{[]string{"--telemetry-downsample-after", "30m"}, nil, "telemetry-downsample-after:"},
		{[]string{"--telemetry-retention", "24h"}, nil, "telemetry-retention: 24h0m0s is shorter than telemetry-downsample-after"},
	}
	for _, tc := range cases {
		_, err := Load("serve", tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want it to contain %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestRelaySettings(t *testing.T) {
	cfg, err := Load("serve", []string{"--relay-from", "https://flags.example.com"}, env(map[string]string{
		"FLAGPILOT_SDK_KEY": "fps_secret",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RelayFrom != "https://flags.example.com" || cfg.SDKKey != "fps_secret" {
		t.Fatalf("got %+v", cfg)
	}
	var out strings.Builder
	if err := cfg.Redacted().Dump(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "fps_secret") || !strings.Contains(out.String(), "sdkKey: REDACTED") {
		t.Fatalf("dump does not redact the SDK key:\n%s", out.String())
	}
}

func TestConfigFileUnknownKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("adress: x\n"), 0o600)
	_, err := Load("serve", []string{"--config", file}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "adress") {
		t.Fatalf("error %v", err)
	}
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load("serve", nil, env(nil), io.Discard)
	if err != nil || cfg.ShutdownTimeout != 15*time.Second {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func TestTelemetrySettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("telemetryWindow: 30s\ntelemetryRetention: 240h\n"), 0o600)
	cfg, err := Load("serve", []string{"--config", file, "--telemetry-lateness", "20s"}, env(map[string]string{
		"FLAGPILOT_TELEMETRY_DOWNSAMPLE_AFTER": "24h",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TelemetryWindow != 30*time.Second || cfg.TelemetryLateness != 20*time.Second ||
		cfg.TelemetryDownsampleAfter != 24*time.Hour || cfg.TelemetryRetention != 240*time.Hour {
		t.Fatalf("got %+v", cfg)
	}
	def := Default()
	if def.TelemetryWindow != time.Minute || def.TelemetryLateness != 30*time.Second ||
		def.TelemetryDownsampleAfter != 48*time.Hour || def.TelemetryRetention != 30*24*time.Hour {
		t.Errorf("telemetry defaults %+v", def)
	}
}
