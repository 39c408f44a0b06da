// Package sim is the detection benchmark of DECISION.md: it simulates guarded rollouts with a
// known truth (healthy or regressed), drives a decision engine with the telemetry SDKs would
// send, applies its decisions in a closed loop, and reports how often and how fast it rolled
// back, with what blast radius, and how long healthy rollouts took to reach 100 %.
package sim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Scenario is one simulated situation, read from a YAML file (see the `flagpilot sim`
// contract in DECISION.md). Every key but name is optional; unknown keys are errors.
type Scenario struct {
	Name       string  `yaml:"name"`
	Runs       int     `yaml:"runs"`
	Seed       uint64  `yaml:"seed"`
	Traffic    Traffic `yaml:"traffic"`
	Errors     Errors  `yaml:"errors"`
	Latency    Latency `yaml:"latency"`
	Conversion struct {
		Baseline float64 `yaml:"baseline"`
	} `yaml:"conversion"`
	Effect     Effect    `yaml:"effect"`
	Telemetry  Telemetry `yaml:"telemetry"`
	Incident   Incident  `yaml:"incident"`
	Plan       Plan      `yaml:"plan"`
	Guardrails []string  `yaml:"guardrails"`
	// Success, an extension of the contract, names a success metric the engine reports with
	// its two-sided confidence sequence; a run finds a winner when that sequence excludes 0 in
	// the treatment's favour.
	Success Success `yaml:"success"`
}

// Success is the simulated success metric: "conversion" (the only one) and the relative lift
// its confidence sequence is tuned to.
type Success struct {
	Metric string  `yaml:"metric"`
	MDE    float64 `yaml:"mde"`
}

type Traffic struct {
	RequestsPerMinute float64 `yaml:"requests_per_minute"`
	Users             int     `yaml:"users"`
	DiurnalAmplitude  float64 `yaml:"diurnal_amplitude"`
}

type Errors struct {
	Baseline    float64 `yaml:"baseline"`
	DriftTo     float64 `yaml:"drift_to"`
	ClusterMean float64 `yaml:"cluster_mean"`
	BadClients  struct {
		Share  float64 `yaml:"share"`
		Factor float64 `yaml:"factor"`
	} `yaml:"bad_clients"`
}

type Latency struct {
	MedianMS float64 `yaml:"median_ms"`
	Sigma    float64 `yaml:"sigma"`
}

type Effect struct {
	ErrorRatio         Curve   `yaml:"error_ratio"`
	LatencyShiftMS     float64 `yaml:"latency_shift_ms"`
	TailOnly           bool    `yaml:"tail_only"`
	ConversionRelative float64 `yaml:"conversion_relative"`
	FromShare          float64 `yaml:"from_share"`
	SegmentShare       float64 `yaml:"segment_share"`
}

type Telemetry struct {
	FlushSeconds    float64 `yaml:"flush_seconds"`
	Loss            float64 `yaml:"loss"`
	Duplicates      float64 `yaml:"duplicates"`
	MaxDelaySeconds float64 `yaml:"max_delay_seconds"`
	ExposureLoss    float64 `yaml:"exposure_loss"`
}

type Incident struct {
	AtMinute    float64 `yaml:"at_minute"`
	Minutes     float64 `yaml:"minutes"`
	ErrorFactor float64 `yaml:"error_factor"`
}

type Plan struct {
	Steps          []float64 `yaml:"steps"`
	MinSoakMinutes float64   `yaml:"min_soak_minutes"`
	// The keys below extend the contract, for experiments that run for days: the tick (one
	// batch per tick), the step cap, and how long a run may last.
	TickMinutes    float64 `yaml:"tick_minutes"`
	StepCapMinutes float64 `yaml:"step_cap_minutes"`
	MaxHours       float64 `yaml:"max_hours"`
	// ConversionAlpha and ConversionMDE set the conversion guardrail's own false-rollback level
	// and the relative drop its tests are tuned to (rollout.Guardrail's alpha and mde); unset,
	// it shares the plan's level and is tuned to a 10 % drop.
	ConversionAlpha float64 `yaml:"conversion_alpha"`
	ConversionMDE   float64 `yaml:"conversion_mde"`
}

// Curve is a value that may change over the rollout: a constant, or [minute, value] points
// interpolated linearly and held after the last.
type Curve struct {
	Points [][2]float64
}

// UnmarshalYAML reads a number or a list of [minute, value] pairs.
func (c *Curve) UnmarshalYAML(n *yaml.Node) error {
	var v float64
	if n.Kind == yaml.ScalarNode {
		if err := n.Decode(&v); err != nil {
			return errors.New("expected a number or a list of [minute, value] points")
		}
		c.Points = [][2]float64{{0, v}}
		return nil
	}
	var pts [][2]float64
	if err := n.Decode(&pts); err != nil || len(pts) == 0 {
		return errors.New("expected a number or a list of [minute, value] points")
	}
	for i := 1; i < len(pts); i++ {
		if pts[i][0] <= pts[i-1][0] {
			return fmt.Errorf("point %d: minutes must increase", i)
		}
	}
	c.Points = pts
	return nil
}

// At is the curve's value at minute m.
func (c Curve) At(m float64) float64 {
	p := c.Points
	if len(p) == 0 {
		return 1
	}
	if m <= p[0][0] {
		return p[0][1]
	}
	for i := 1; i < len(p); i++ {
		if m <= p[i][0] {
			f := (m - p[i-1][0]) / (p[i][0] - p[i-1][0])
			return p[i-1][1] + f*(p[i][1]-p[i-1][1])
		}
	}
	return p[len(p)-1][1]
}

// Load reads a scenario file.
func Load(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	s, err := Parse(data)
	if err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse reads a scenario, fills the defaults and validates it.
func Parse(data []byte) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, err
	}
	s.defaults()
	return s, s.validate()
}

func (s *Scenario) defaults() {
	setDefault(&s.Runs, 1000)
	setDefault(&s.Seed, 1)
	setDefault(&s.Traffic.RequestsPerMinute, 10000)
	setDefault(&s.Traffic.Users, 200000)
	setDefault(&s.Errors.Baseline, 0.01)
	setDefault(&s.Errors.DriftTo, s.Errors.Baseline)
	setDefault(&s.Errors.ClusterMean, 1)
	setDefault(&s.Errors.BadClients.Factor, 10)
	setDefault(&s.Latency.MedianMS, 200)
	setDefault(&s.Latency.Sigma, 0.5)
	setDefault(&s.Conversion.Baseline, 0.10)
	if len(s.Effect.ErrorRatio.Points) == 0 {
		s.Effect.ErrorRatio.Points = [][2]float64{{0, 1}}
	}
	setDefault(&s.Effect.SegmentShare, 1)
	setDefault(&s.Telemetry.FlushSeconds, 10)
	setDefault(&s.Telemetry.Loss, 0.005)
	setDefault(&s.Telemetry.Duplicates, 0.001)
	setDefault(&s.Telemetry.MaxDelaySeconds, 20)
	setDefault(&s.Incident.ErrorFactor, 1)
	if len(s.Plan.Steps) == 0 {
		s.Plan.Steps = []float64{1, 5, 20, 50, 100}
	}
	setDefault(&s.Plan.MinSoakMinutes, 10)
	setDefault(&s.Plan.TickMinutes, 1)
	setDefault(&s.Plan.StepCapMinutes, max(30, s.Plan.MinSoakMinutes))
	setDefault(&s.Plan.MaxHours, 24)
	if s.Guardrails == nil {
		s.Guardrails = []string{"error_rate", "latency"}
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (s *Scenario) validate() error {
	prob := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s: %v is not a probability in [0, 1]", name, v)
		}
		return nil
	}
	switch {
	case s.Name == "":
		return errors.New("name: required")
	case s.Runs < 1:
		return fmt.Errorf("runs: %d is not positive", s.Runs)
	case !(s.Traffic.RequestsPerMinute > 0):
		return fmt.Errorf("traffic.requests_per_minute: %v is not positive", s.Traffic.RequestsPerMinute)
	case s.Traffic.Users < 1:
		return fmt.Errorf("traffic.users: %d is not positive", s.Traffic.Users)
	case !(s.Errors.ClusterMean >= 1):
		return fmt.Errorf("errors.cluster_mean: %v is below 1", s.Errors.ClusterMean)
	case !(s.Latency.MedianMS > 0 && s.Latency.Sigma > 0):
		return errors.New("latency: median_ms and sigma must be positive")
	case !(s.Plan.TickMinutes >= 1 && s.Plan.MinSoakMinutes >= s.Plan.TickMinutes && s.Plan.StepCapMinutes >= s.Plan.MinSoakMinutes):
		return errors.New("plan: expected tick_minutes >= 1, min_soak_minutes >= tick_minutes and step_cap_minutes >= min_soak_minutes")
	case !(s.Plan.MaxHours > 0 && s.Plan.MaxHours <= 24*60):
		return fmt.Errorf("plan.max_hours: %v is not in (0, 1440]", s.Plan.MaxHours)
	case !(s.Telemetry.FlushSeconds >= 1):
		return fmt.Errorf("telemetry.flush_seconds: %v is below 1", s.Telemetry.FlushSeconds)
	}
	for _, f := range []struct {
		name  string
		value float64
	}{
		{"traffic.diurnal_amplitude", s.Traffic.DiurnalAmplitude}, {"errors.baseline", s.Errors.Baseline},
		{"errors.drift_to", s.Errors.DriftTo}, {"errors.bad_clients.share", s.Errors.BadClients.Share},
		{"conversion.baseline", s.Conversion.Baseline}, {"effect.segment_share", s.Effect.SegmentShare},
		{"telemetry.loss", s.Telemetry.Loss}, {"telemetry.duplicates", s.Telemetry.Duplicates},
		{"telemetry.exposure_loss", s.Telemetry.ExposureLoss},
	} {
		if err := prob(f.name, f.value); err != nil {
			return err
		}
	}
	for i, p := range s.Effect.ErrorRatio.Points {
		if !(p[1] > 0) || math.IsInf(p[1], 0) {
			return fmt.Errorf("effect.error_ratio: point %d: ratio %v is not positive", i, p[1])
		}
	}
	for i, g := range s.Guardrails {
		if !slices.Contains([]string{"error_rate", "latency", "conversion"}, g) {
			return fmt.Errorf("guardrails[%d]: %q is not one of error_rate, latency, conversion", i, g)
		}
	}
	switch {
	case !(s.Plan.ConversionAlpha >= 0 && s.Plan.ConversionAlpha < 0.5):
		return fmt.Errorf("plan.conversion_alpha: %v is not a level in (0, 0.5)", s.Plan.ConversionAlpha)
	case !(s.Plan.ConversionMDE >= 0 && s.Plan.ConversionMDE < 1):
		return fmt.Errorf("plan.conversion_mde: %v is not a relative drop in (0, 1)", s.Plan.ConversionMDE)
	case !(s.Success.MDE >= 0 && s.Success.MDE < 1):
		return fmt.Errorf("success.mde: %v is not a relative lift in (0, 1)", s.Success.MDE)
	case (s.Plan.ConversionAlpha != 0 || s.Plan.ConversionMDE != 0) && !slices.Contains(s.Guardrails, "conversion"):
		return errors.New("plan: conversion_alpha and conversion_mde need the conversion guardrail")
	case s.Success.Metric != "" && s.Success.Metric != "conversion":
		return fmt.Errorf("success.metric: %q is not conversion, the only simulated success metric", s.Success.Metric)
	case s.Success.Metric == "" && s.Success.MDE != 0:
		return errors.New("success.metric: required with success.mde")
	}
	return nil
}
