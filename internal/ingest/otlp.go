package ingest

// OTLP/HTTP trace intake. Services instrumented with OpenTelemetry report flag evaluations the
// way the feature-flag semantic conventions and OpenFeature's OpenTelemetry hooks do: as
// feature_flag.* attributes on a span, or on span events named feature_flag.evaluation (older
// hooks: feature_flag). Such a span is one request served under the evaluated variants, so its
// duration and error status become request outcomes, pre-aggregated into the same batches SDKs
// send.

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/telemetry"
)

// Names from the OpenTelemetry feature-flag semantic conventions, with the names they replaced,
// which older OpenFeature hooks still send.
const (
	otelFlagKey       = "feature_flag.key"
	otelVariant       = "feature_flag.result.variant"
	otelVariantLegacy = "feature_flag.variant"
	otelContextID     = "feature_flag.context.id"
	otelFlagVersion   = "feature_flag.version"
	otelEvaluation    = "feature_flag.evaluation"
	otelLegacyEvent   = "feature_flag"
)

// OTLPInstance is the Instance of batches derived from OTLP traces. Their Seq is 0: OTLP has no
// sequence numbers, so they cannot be deduplicated.
const OTLPInstance = "otlp"

// Defaults of OTLPHandler.
const (
	DefaultOTLPWindow  = 10 * time.Second
	DefaultOTLPMaxBody = 4 << 20
)

// BatchesFromTraces turns the spans of an OTLP trace export that carry feature-flag evaluations
// into telemetry batches, one per window of the given (positive) length that a span ended in,
// in time order. spans[i] is the number of spans behind batches[i].
//
// Each evaluation, on the span or in one of its evaluation events, counts as one evaluation of
// its (flag, variant, version) in the exposure row. Each distinct (flag, variant, version) of a
// span gets one request outcome: the span's duration in milliseconds, an error when the span's
// status is ERROR. feature_flag.context.id is the unit. Evaluations without a variant (failed
// evaluations) and spans without valid start and end times are left out. Standalone evaluation
// spans (named feature_flag.evaluation, as OpenFeature's span hooks make them) count as
// exposures only: their duration is the evaluation's, not a request's.
func BatchesFromTraces(req *coltracepb.ExportTraceServiceRequest, window time.Duration) (batches []telemetry.Batch, spans []int) {
	width := int64(window)
	windows := map[int64]*traceWindow{}
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				start, end := s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano()
				if start == 0 || end < start || end > math.MaxInt64 {
					continue
				}
				evals := spanEvaluations(s)
				if len(evals) == 0 {
					continue
				}
				from := int64(end) - int64(end)%width
				w := windows[from]
				if w == nil {
					w = &traceWindow{rows: map[rowKey]*traceRow{}}
					windows[from] = w
				}
				w.add(s, evals)
			}
		}
	}
	froms := make([]int64, 0, len(windows))
	for from := range windows {
		froms = append(froms, from)
	}
	slices.Sort(froms)
	for _, from := range froms {
		w := windows[from]
		start := time.Unix(0, from).UTC()
		batches = append(batches, telemetry.Batch{
			Instance: OTLPInstance,
			Start:    start,
			End:      start.Add(window),
			Rows:     w.telemetryRows(),
		})
		spans = append(spans, w.spans)
	}
	return batches, spans
}

type rowKey struct {
	flag, variant string
	version       int64
}

type evaluation struct {
	rowKey
	unit string
}

// spanEvaluations returns the evaluations on the span itself and in its evaluation events.
func spanEvaluations(s *tracepb.Span) []evaluation {
	var out []evaluation
	if e, ok := evaluationIn(s.GetAttributes()); ok {
		out = append(out, e)
	}
	for _, ev := range s.GetEvents() {
		if n := ev.GetName(); n != otelEvaluation && n != otelLegacyEvent {
			continue
		}
		if e, ok := evaluationIn(ev.GetAttributes()); ok {
			out = append(out, e)
		}
	}
	return out
}

func evaluationIn(attrs []*commonpb.KeyValue) (evaluation, bool) {
	var e evaluation
	var legacyVariant string
	for _, kv := range attrs {
		v, ok := scalar(kv.GetValue())
		if !ok {
			continue
		}
		switch kv.GetKey() {
		case otelFlagKey:
			e.flag = v
		case otelVariant:
			e.variant = v
		case otelVariantLegacy:
			legacyVariant = v
		case otelContextID:
			e.unit = v
		case otelFlagVersion:
			// Flagpilot's OFREP metadata carries the configuration version as a decimal string;
			// other providers' versions mean nothing here and leave it unknown (0).
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				e.version = n
			}
		}
	}
	if e.variant == "" {
		e.variant = legacyVariant
	}
	return e, e.flag != "" && e.variant != ""
}

// scalar returns a scalar attribute value as text: conventions say string, but instrumentations
// set numeric context ids and boolean variants too.
func scalar(v *commonpb.AnyValue) (string, bool) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue, true
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue), true
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10), true
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64), true
	}
	return "", false
}

// traceWindow accumulates the spans that ended in one window.
type traceWindow struct {
	spans int
	rows  map[rowKey]*traceRow
}

type traceRow struct {
	evaluations, count, errors   int64
	sum, sumSq, sumLog, sumLogSq float64
	sketch                       *ddsketch.DDSketch // nil until a request outcome is seen
	// units holds the hashes of the units seen; the HyperLogLog is built only when the row is
	// written, because at 4 KiB each, one per row would multiply a small export's memory.
	units []uint64
}

func (w *traceWindow) add(s *tracepb.Span, evals []evaluation) {
	w.spans++
	standalone := s.GetName() == otelEvaluation || s.GetName() == otelLegacyEvent
	ms := float64(s.GetEndTimeUnixNano()-s.GetStartTimeUnixNano()) / 1e6
	failed := s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
	for i, e := range evals {
		r := w.rows[e.rowKey]
		if r == nil {
			r = &traceRow{}
			w.rows[e.rowKey] = r
		}
		r.evaluations++
		if e.unit != "" {
			r.units = append(r.units, unitHash(e.unit))
		}
		// A request served under a variant is one outcome, however often it evaluated the flag.
		if standalone || slices.ContainsFunc(evals[:i], func(p evaluation) bool { return p.rowKey == e.rowKey }) {
			continue
		}
		r.observe(ms, failed)
	}
}

func (r *traceRow) observe(ms float64, failed bool) {
	r.count++
	if failed {
		r.errors++
	}
	r.sum += ms
	r.sumSq += ms * ms
	if ms > 0 {
		l := math.Log(ms)
		r.sumLog += l
		r.sumLogSq += l * l
	}
	if r.sketch == nil {
		r.sketch = telemetry.NewSketch()
	}
	// Durations below 2^63 ns are far inside the sketch's range, so Add cannot fail.
	_ = r.sketch.Add(ms)
}

// telemetryRows returns the exposure row and, when the window holds request outcomes, the
// request row of every (flag, variant, version), ordered by flag, variant, version and metric.
func (w *traceWindow) telemetryRows() []telemetry.Row {
	keys := make([]rowKey, 0, len(w.rows))
	for k := range w.rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rowKey) int {
		return cmp.Or(strings.Compare(a.flag, b.flag), strings.Compare(a.variant, b.variant), cmp.Compare(a.version, b.version))
	})
	rows := make([]telemetry.Row, 0, 2*len(keys))
	var units telemetry.HLL
	for _, k := range keys {
		r := w.rows[k]
		exposure := telemetry.Row{Flag: k.flag, Variant: k.variant, Version: k.version, Evaluations: r.evaluations}
		if len(r.units) > 0 {
			units = telemetry.HLL{}
			for _, h := range r.units {
				units.Add(h)
			}
			exposure.Units = units.Estimate()
			exposure.UnitSketch, _ = units.MarshalBinary() // never fails
		}
		rows = append(rows, exposure)
		if r.count == 0 {
			continue
		}
		rows = append(rows, telemetry.Row{
			Flag: k.flag, Variant: k.variant, Version: k.version, Metric: telemetry.RequestMetric,
			Units: exposure.Units, UnitSketch: exposure.UnitSketch,
			Count: r.count, Errors: r.errors,
			Sum: r.sum, SumSq: r.sumSq, SumLog: r.sumLog, SumLogSq: r.sumLogSq,
			Sketch: telemetry.EncodeSketch(r.sketch),
		})
	}
	return rows
}

// unitHash is FNV-1a 64 finished with MurmurHash3's fmix64, the hash sdk/eval buckets with:
// the HyperLogLog reads the top bits, which FNV alone leaves poorly mixed for keys that differ
// only at the end.
func unitHash(key string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 0x100000001b3
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// OTLPHandler serves OTLP/HTTP trace exports (POST /v1/traces), binary protobuf or JSON,
// optionally gzip-compressed. It answers as OTLP/HTTP requires: 200 with an
// ExportTraceServiceResponse (with partial_success when some windows were rejected), or a
// google.rpc.Status, both in the request's encoding; 429 and 503 tell exporters to retry.
type OTLPHandler struct {
	// Authenticate returns the project and environment the request may report for; an error
	// with domain code unauthorized or forbidden answers 401 or 403 (see OTLPAuthenticate).
	Authenticate func(r *http.Request) (project, env string, err error)
	// Accept stores one batch. Errors with domain codes invalid, not_found, conflict or
	// too_large reject that batch only; rate_limited answers 429; others answer 503.
	Accept func(ctx context.Context, project, env string, b telemetry.Batch) error
	// Window is the length of the windows spans are grouped into (DefaultOTLPWindow when 0).
	Window time.Duration
	// MaxBody bounds the request body, before and after decompression (DefaultOTLPMaxBody when 0).
	MaxBody int64
	// Log records failures whose causes are not shown to clients; nil discards them.
	Log *slog.Logger
}

// otlpError is a failed export: status tells exporters whether to retry, message is shown to
// them, cause (when set) is logged and never shown.
type otlpError struct {
	status  int
	message string
	cause   error
}

// otlpCodec is one of OTLP/HTTP's two encodings; responses use the request's.
type otlpCodec struct {
	name, contentType string
	marshal           func(proto.Message) ([]byte, error)
	unmarshal         func([]byte, proto.Message) error
}

// codecFor returns the codec of a Content-Type, or the JSON codec and false when the type is
// not an OTLP one (JSON is then what the error is written in).
func codecFor(contentType string) (otlpCodec, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && mt == "application/x-protobuf" {
		return otlpCodec{name: "protobuf", contentType: mt, marshal: proto.Marshal, unmarshal: proto.Unmarshal}, true
	}
	// OTLP/JSON receivers must ignore unknown fields, so that exporters on newer protocol
	// versions keep working. traceId and spanId are hex, not protobuf JSON's base64: every
	// hex string of an id's length is also valid base64, so they decode without error into
	// bytes nothing here reads.
	json := otlpCodec{
		name:        "JSON",
		contentType: "application/json",
		marshal:     protojson.Marshal,
		unmarshal:   protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal,
	}
	return json, err == nil && mt == "application/json"
}

func (h *OTLPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	codec, known := codecFor(r.Header.Get("Content-Type"))
	resp, fail := h.export(w, r, codec, known)
	if fail != nil {
		if fail.cause != nil {
			h.logger().ErrorContext(r.Context(), "otlp export failed", "status", fail.status, "error", fail.cause)
		}
		if fail.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flagpilot"`)
		}
		// Messages may quote the request's bytes, and protobuf strings must be valid UTF-8.
		writeOTLP(w, codec, fail.status, &spb.Status{Message: strings.ToValidUTF8(fail.message, "\uFFFD")})
		return
	}
	writeOTLP(w, codec, http.StatusOK, resp)
}

func (h *OTLPHandler) export(w http.ResponseWriter, r *http.Request, codec otlpCodec, known bool) (*coltracepb.ExportTraceServiceResponse, *otlpError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &otlpError{status: http.StatusMethodNotAllowed, message: "OTLP exports are POST requests"}
	}
	project, env, err := h.Authenticate(r)
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.CodeUnauthorized:
			return nil, &otlpError{status: http.StatusUnauthorized, message: domain.ErrorMessage(err)}
		case domain.CodeForbidden:
			return nil, &otlpError{status: http.StatusForbidden, message: domain.ErrorMessage(err)}
		}
		return nil, &otlpError{status: http.StatusServiceUnavailable, message: "cannot check the SDK key now; retry later", cause: err}
	}
	if !known {
		return nil, &otlpError{status: http.StatusUnsupportedMediaType,
			message: fmt.Sprintf("unsupported Content-Type %q (expected application/x-protobuf or application/json)", r.Header.Get("Content-Type"))}
	}
	body, fail := readOTLPBody(w, r, cmp.Or(h.MaxBody, DefaultOTLPMaxBody))
	if fail != nil {
		return nil, fail
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := codec.unmarshal(body, &req); err != nil {
		return nil, &otlpError{status: http.StatusBadRequest,
			message: fmt.Sprintf("invalid OTLP %s body (expected an ExportTraceServiceRequest): %v", codec.name, err)}
	}
	batches, spans := BatchesFromTraces(&req, cmp.Or(h.Window, DefaultOTLPWindow))
	return h.accept(r.Context(), project, env, batches, spans)
}

// readOTLPBody reads the body, decompressing gzip, and refuses more than limit bytes on the
// wire or after decompression.
func readOTLPBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *otlpError) {
	tooLarge := &otlpError{status: http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("the request body is larger than %d bytes; send smaller batches", limit)}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, tooLarge
			}
			return nil, &otlpError{status: http.StatusBadRequest, message: fmt.Sprintf("invalid gzip body (Content-Encoding: gzip): %v", err)}
		}
		src = zr
	default:
		return nil, &otlpError{status: http.StatusUnsupportedMediaType,
			message: fmt.Sprintf("unsupported Content-Encoding %q (expected gzip or none)", enc)}
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	switch {
	case errors.As(err, new(*http.MaxBytesError)) || int64(len(body)) > limit:
		return nil, tooLarge
	case err != nil:
		return nil, &otlpError{status: http.StatusBadRequest, message: fmt.Sprintf("cannot read the request body: %v", err)}
	}
	return body, nil
}

// accept hands the batches to Accept in time order. A batch Accept refuses is reported as
// rejected spans and the others are kept. A failure of the whole request (rate limit,
// credentials, an outage) before any batch is stored answers with its status, so the exporter
// retries; after one is stored, the rest are reported rejected instead, because a retry would
// count the stored windows twice.
func (h *OTLPHandler) accept(ctx context.Context, project, env string, batches []telemetry.Batch, spans []int) (*coltracepb.ExportTraceServiceResponse, *otlpError) {
	var stored bool
	var rejected int
	var reason string
	for i, b := range batches {
		err := h.Accept(ctx, project, env, b)
		if err == nil {
			stored = true
			continue
		}
		code := domain.ErrorCode(err)
		switch code {
		case domain.CodeInvalid, domain.CodeNotFound, domain.CodeConflict, domain.CodeTooLarge:
			rejected += spans[i]
			if reason == "" {
				reason = domain.ErrorMessage(err)
			}
			continue
		}
		fail := &otlpError{status: http.StatusServiceUnavailable, message: "cannot store telemetry now; retry later", cause: err}
		switch code {
		case domain.CodeRateLimited:
			fail = &otlpError{status: http.StatusTooManyRequests, message: domain.ErrorMessage(err)}
		case domain.CodeUnauthorized:
			fail = &otlpError{status: http.StatusUnauthorized, message: domain.ErrorMessage(err)}
		case domain.CodeForbidden:
			fail = &otlpError{status: http.StatusForbidden, message: domain.ErrorMessage(err)}
		}
		if !stored {
			return nil, fail
		}
		if fail.cause != nil {
			h.logger().ErrorContext(ctx, "otlp export partly stored", "error", fail.cause)
		}
		for _, n := range spans[i:] {
			rejected += n
		}
		if reason == "" {
			reason = fail.message
		}
		break
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: int64(rejected),
			ErrorMessage:  strings.ToValidUTF8(fmt.Sprintf("the feature-flag telemetry of %d span(s) was not stored: %s", rejected, reason), "\uFFFD"),
		}
	}
	return resp, nil
}

func (h *OTLPHandler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func writeOTLP(w http.ResponseWriter, codec otlpCodec, status int, m proto.Message) {
	body, err := codec.marshal(m)
	if err != nil {
		// Messages are made valid UTF-8, so this cannot happen; the status would still tell.
		body = nil
	}
	w.Header().Set("Content-Type", codec.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// OTLPAuthenticate returns an OTLPHandler.Authenticate that takes a server SDK key from
// X-API-Key or Authorization: Bearer, as exporters' headers option sets them. Client-side keys
// are refused: they are public, and this telemetry drives rollout decisions.
func OTLPAuthenticate(v auth.Verifier) func(r *http.Request) (project, env string, err error) {
	return func(r *http.Request) (string, string, error) {
		p, _, err := auth.ServerKey(r, v)
		return p.Project, p.Environment, err
	}
}
