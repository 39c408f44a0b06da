// Package config is the server's typed configuration. Sources apply in a fixed order, each
// overriding the one before: defaults, an optional YAML file (--config), FLAGPILOT_*
// environment variables (secrets may come from a file named by the variable with a _FILE
// suffix), then command-line flags. Validate names the setting at fault, and Redacted gives a
// copy safe to print.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the configuration of `flagpilot serve`.
type Config struct {
	// Addr is the listen address of the HTTP server.
	Addr string `yaml:"addr"`
	// DataDir holds the SQLite database when no DatabaseURL is set.
	DataDir string `yaml:"dataDir"`
	// DatabaseURL selects PostgreSQL (postgres://…); empty means SQLite under DataDir.
	DatabaseURL string `yaml:"databaseURL"`
	// AdminToken, when set, is the bootstrap admin token instead of a generated one.
	AdminToken string `yaml:"adminToken"`
	// LogLevel is debug, info, warn or error; LogFormat json or text.
	LogLevel  string `yaml:"logLevel"`
	LogFormat string `yaml:"logFormat"`
	// MaxBodyBytes bounds request bodies of the management API.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// RelayFrom, when set, makes the server a relay: a read-only edge without a database that
	// follows the upstream server at this URL and serves its SDK endpoints and OFREP.
	RelayFrom string `yaml:"relayFrom"`
	// SDKKey is the relay's server SDK key: it reads the upstream's environment, and it is the
	// only key the relay accepts from its own clients.
	SDKKey string `yaml:"sdkKey"`
	// TelemetryWindow is the length of telemetry aggregate windows, the autopilot's tick:
	// whole seconds that divide an hour.
	TelemetryWindow time.Duration `yaml:"telemetryWindow"`
	// TelemetryLateness is how long after its end a window still takes batches; decisions wait
	// for it.
	TelemetryLateness time.Duration `yaml:"telemetryLateness"`
	// TelemetryDownsampleAfter is the age from which windows are merged into hour windows.
	TelemetryDownsampleAfter time.Duration `yaml:"telemetryDownsampleAfter"`
	// TelemetryRetention is how long telemetry is kept.
	TelemetryRetention time.Duration `yaml:"telemetryRetention"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./data",
		LogLevel:        "info",
		LogFormat:       "json",
		MaxBodyBytes:    1 << 20,
		ShutdownTimeout: 15 * time.Second,

		TelemetryWindow:          time.Minute,
		TelemetryLateness:        30 * time.Second,
		TelemetryDownsampleAfter: 48 * time.Hour,
		TelemetryRetention:       30 * 24 * time.Hour,
	}
}

// setting describes one setting for the environment and flag layers.
type setting struct {
	name   string // flag name; the variable is FLAGPILOT_ + upper-snake of it
	usage  string
	secret bool // may come from NAME_FILE; redacted in dumps
	field  func(c *Config) any
}

func settings() []setting {
	return []setting{
		{"addr", "listen address", false, func(c *Config) any { return &c.Addr }},
		{"data-dir", "directory of the SQLite database", false, func(c *Config) any { return &c.DataDir }},
		{"database-url", "PostgreSQL URL (postgres://…); empty for SQLite", true, func(c *Config) any { return &c.DatabaseURL }},
		{"admin-token", "bootstrap admin token (generated and printed once when empty)", true, func(c *Config) any { return &c.AdminToken }},
		{"log-level", "debug, info, warn or error", false, func(c *Config) any { return &c.LogLevel }},
		{"log-format", "json or text", false, func(c *Config) any { return &c.LogFormat }},
		{"max-body-bytes", "largest accepted request body", false, func(c *Config) any { return &c.MaxBodyBytes }},
		{"shutdown-timeout", "how long graceful shutdown may take", false, func(c *Config) any { return &c.ShutdownTimeout }},
		{"relay-from", "upstream server URL: run as a read-only relay of its SDK endpoints, without a database", false, func(c *Config) any { return &c.RelayFrom }},
		{"sdk-key", "the relay's server SDK key, for the upstream and for the relay's clients", true, func(c *Config) any { return &c.SDKKey }},
		{"telemetry-window", "length of telemetry windows, the autopilot's tick (whole seconds dividing an hour)", false, func(c *Config) any { return &c.TelemetryWindow }},
		{"telemetry-lateness", "how long after its end a telemetry window still takes batches", false, func(c *Config) any { return &c.TelemetryLateness }},
		{"telemetry-downsample-after", "age from which telemetry windows are merged into hours", false, func(c *Config) any { return &c.TelemetryDownsampleAfter }},
		{"telemetry-retention", "how long telemetry is kept", false, func(c *Config) any { return &c.TelemetryRetention }},
	}
}

// EnvName is the environment variable of a setting: FLAGPILOT_DATABASE_URL for database-url.
func EnvName(setting string) string {
	return "FLAGPILOT_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// Load builds the configuration from args (the command's flags) and the environment lookup.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", getenv("FLAGPILOT_CONFIG"), "YAML configuration file")
	// Flags are registered with string values and applied after the file and environment, so
	// that only flags given on the command line override them.
	given := map[string]string{}
	for _, s := range settings() {
		fs.Func(s.name, s.usage+" (env "+EnvName(s.name)+")", func(v string) error { given[s.name] = v; return nil })
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configFile != "" {
		if err := cfg.loadFile(*configFile); err != nil {
			return cfg, err
		}
	}
	for _, s := range settings() {
		env := EnvName(s.name)
		v, src := getenv(env), env
		if s.secret && v == "" {
			if path := getenv(env + "_FILE"); path != "" {
				data, err := os.ReadFile(path)
				if err != nil {
					return cfg, fmt.Errorf("%s_FILE: %w", env, err)
				}
				v, src = strings.TrimSpace(string(data)), env+"_FILE"
			}
		}
		if v != "" {
			if err := assign(s.field(&cfg), v); err != nil {
				return cfg, fmt.Errorf("%s: %w", src, err)
			}
		}
	}
	for _, s := range settings() {
		if v, ok := given[s.name]; ok {
			if err := assign(s.field(&cfg), v); err != nil {
				return cfg, fmt.Errorf("-%s: %w", s.name, err)
			}
		}
	}
	return cfg, cfg.Validate()
}

func (c *Config) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

func assign(field any, v string) error {
	switch p := field.(type) {
	case *string:
		*p = v
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", v)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("expected a duration such as 15s, got %q", v)
		}
		*p = d
	}
	return nil
}

// Validate checks every setting and names the first one at fault.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr: %q is not host:port", c.Addr)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		return errors.New("data-dir: required when no database-url is set")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("database-url: expected postgres://user@host:port/database")
		}
	}
	if err := c.validateRelay(); err != nil {
		return err
	}
	if _, err := c.Level(); err != nil {
		return err
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("log-format: %q is not json or text", c.LogFormat)
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("max-body-bytes: %d is below the minimum of 1024", c.MaxBodyBytes)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown-timeout: must be positive")
	}
	return c.validateTelemetry()
}

// validateTelemetry checks the telemetry durations as the intake needs them: windows tile
// hours, and downsampling merges only windows that closed.
func (c Config) validateTelemetry() error {
	switch w := c.TelemetryWindow; {
	case w < time.Second || w%time.Second != 0 || time.Hour%w != 0:
		return fmt.Errorf("telemetry-window: %s is not whole seconds that divide an hour (such as 10s, 1m, 5m)", w)
	case c.TelemetryLateness < 0:
		return fmt.Errorf("telemetry-lateness: %s is negative", c.TelemetryLateness)
	case c.TelemetryDownsampleAfter < w+c.TelemetryLateness+time.Hour:
		return fmt.Errorf("telemetry-downsample-after: %s is shorter than the window, the lateness and an hour (%s)",
			c.TelemetryDownsampleAfter, w+c.TelemetryLateness+time.Hour)
	case c.TelemetryRetention < c.TelemetryDownsampleAfter:
		return fmt.Errorf("telemetry-retention: %s is shorter than telemetry-downsample-after (%s)", c.TelemetryRetention, c.TelemetryDownsampleAfter)
	}
	return nil
}

func (c Config) validateRelay() error {
	if c.RelayFrom == "" {
		if c.SDKKey != "" {
			return errors.New("sdk-key: only a relay (relay-from) uses an SDK key")
		}
		return nil
	}
	u, err := url.Parse(c.RelayFrom)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("relay-from: expected the upstream server's URL, http(s)://host:port")
	}
	if c.DatabaseURL != "" {
		return errors.New("relay-from: a relay has no database; unset database-url")
	}
	if !strings.HasPrefix(c.SDKKey, "fps_") {
		return errors.New("sdk-key: a relay needs a server SDK key (fps_…)")
	}
	return nil
}

// Level returns the slog level of LogLevel.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Redacted returns a copy with secrets masked: the admin token and SDK key entirely, the
// database password only.
func (c Config) Redacted() Config {
	for _, secret := range []*string{&c.AdminToken, &c.SDKKey} {
		if *secret != "" {
			*secret = "REDACTED"
		}
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			c.DatabaseURL = u.String()
		}
	}
	return c
}

// Dump writes the configuration as YAML.
func (c Config) Dump(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return err
	}
	return enc.Close()
}
