// Package ofprovider makes a Flagpilot SDK client an OpenFeature provider, so applications that
// use the OpenFeature Go SDK evaluate Flagpilot flags locally, in either of the client's modes
// (a flag file, or a server followed over its stream):
//
//	client, err := sdk.New(ctx, sdk.Options{ServerURL: url, SDKKey: key})
//	...
//	openfeature.SetProviderAndWait(ofprovider.New(client))
//	enabled, _ := openfeature.NewClient("checkout").BooleanValue(ctx, "new-checkout", false,
//		openfeature.NewEvaluationContext("user-42", map[string]any{"country": "CA"}))
//
// The provider does not own the client: Shutdown stops the provider's events, and the
// application closes the client.
package ofprovider

import (
	"context"
	"sync"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/eval"
)

// Provider is an OpenFeature FeatureProvider, StateHandler and EventHandler over an sdk.Client.
type Provider struct {
	client *sdk.Client
	events chan openfeature.Event

	mu     sync.Mutex
	remove []func() // end the client listeners; nil when not initialised
}

var (
	_ openfeature.FeatureProvider          = (*Provider)(nil)
	_ openfeature.ContextAwareStateHandler = (*Provider)(nil)
	_ openfeature.Tracker                  = (*Provider)(nil)
	_ openfeature.EventHandler             = (*Provider)(nil)
)

// eventBuffer bounds the events waiting for the OpenFeature SDK to take them; when it is full,
// further events are dropped rather than block the client's listener.
const eventBuffer = 16

// New returns a provider evaluating with client.
func New(client *sdk.Client) *Provider {
	return &Provider{client: client, events: make(chan openfeature.Event, eventBuffer)}
}

// Metadata names the provider.
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: "flagpilot"} }

// Hooks returns no provider hooks.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// Init waits until the client holds a configuration; see InitWithContext.
func (p *Provider) Init(evalCtx openfeature.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext waits until the client holds a configuration from its file or server, or ctx
// ends. Then it emits PROVIDER_CONFIGURATION_CHANGED for every new configuration, and
// PROVIDER_STALE, PROVIDER_ERROR and PROVIDER_READY as the client loses and regains its server.
func (p *Provider) InitWithContext(ctx context.Context, _ openfeature.EvaluationContext) error {
	if err := p.client.WaitForReady(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.remove == nil {
		p.remove = []func(){p.client.OnAnyChange(p.configChanged), p.client.OnStatus(p.statusChanged)}
	}
	return nil
}

func (p *Provider) statusChanged(sc sdk.StatusChange) {
	ev := openfeature.Event{ProviderName: "flagpilot"}
	switch sc.Status {
	case sdk.StatusReady:
		ev.EventType, ev.Message = openfeature.ProviderReady, "following the server again"
	case sdk.StatusStale:
		ev.EventType, ev.Message = openfeature.ProviderStale, "the server cannot be reached; serving the last configuration"
	default:
		ev.EventType, ev.Message, ev.ErrorCode = openfeature.ProviderError, "the server cannot be reached", openfeature.ProviderNotReadyCode
	}
	if sc.Err != nil {
		ev.Message += ": " + sc.Err.Error()
	}
	p.emit(ev)
}

func (p *Provider) configChanged(ch sdk.ConfigChange) {
	keys := make([]string, len(ch.Flags))
	for i, f := range ch.Flags {
		keys[i] = f.Key
	}
	ev := openfeature.Event{
		ProviderName: "flagpilot",
		EventType:    openfeature.ProviderConfigChange,
		ProviderEventDetails: openfeature.ProviderEventDetails{
			Message:       "new configuration",
			FlagChanges:   keys,
			EventMetadata: map[string]any{"version": ch.Version},
		},
	}
	p.emit(ev)
}

// emit queues an event without ever blocking the client's listener goroutine.
func (p *Provider) emit(ev openfeature.Event) {
	select {
	case p.events <- ev:
	default:
	}
}

// Shutdown stops the provider's events; the client stays open.
func (p *Provider) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, remove := range p.remove {
		remove()
	}
	p.remove = nil
}

// ShutdownWithContext is Shutdown.
func (p *Provider) ShutdownWithContext(context.Context) error {
	p.Shutdown()
	return nil
}

// EventChannel returns the provider's events.
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events }

// BooleanEvaluation evaluates a boolean flag.
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, def bool, flatCtx openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	v, r := evaluate(flatCtx, def, func(ec sdk.Context) sdk.Detail[bool] { return p.client.BoolDetail(ctx, flag, def, ec) })
	return openfeature.BoolResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(ctx context.Context, flag string, def string, flatCtx openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	v, r := evaluate(flatCtx, def, func(ec sdk.Context) sdk.Detail[string] { return p.client.StringDetail(ctx, flag, def, ec) })
	return openfeature.StringResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// FloatEvaluation evaluates a number flag.
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, def float64, flatCtx openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	v, r := evaluate(flatCtx, def, func(ec sdk.Context) sdk.Detail[float64] { return p.client.FloatDetail(ctx, flag, def, ec) })
	return openfeature.FloatResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// IntEvaluation evaluates a number flag as an integer; a fractional value is a type mismatch.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, def int64, flatCtx openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	v, r := evaluate(flatCtx, def, func(ec sdk.Context) sdk.Detail[int64] { return p.client.IntDetail(ctx, flag, def, ec) })
	return openfeature.IntResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// ObjectEvaluation evaluates a JSON flag.
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, def any, flatCtx openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	v, r := evaluate(flatCtx, def, func(ec sdk.Context) sdk.Detail[any] { return p.client.ObjectDetail(ctx, flag, def, ec) })
	return openfeature.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// Track records an OpenFeature tracking event as a tracked metric of the client, with the
// event's value, attributed to the variant each monitored flag serves the context, so that
// experiments and guarded rollouts can compare the variants on it. An event whose context
// cannot be converted is dropped: tracking never fails the application.
func (p *Provider) Track(ctx context.Context, event string, evalCtx openfeature.EvaluationContext, details openfeature.TrackingEventDetails) {
	flat := evalCtx.Attributes()
	flat[openfeature.TargetingKey] = evalCtx.TargetingKey()
	ec, err := eval.ContextFromMap(flat)
	if err != nil {
		return
	}
	p.client.Track(ctx, event, details.Value(), ec)
}

// evaluate converts the context and evaluates with detail; an invalid context serves def with
// INVALID_CONTEXT.
func evaluate[T any](flat openfeature.FlattenedContext, def T, detail func(sdk.Context) sdk.Detail[T]) (T, openfeature.ProviderResolutionDetail) {
	ec, err := eval.ContextFromMap(flat)
	if err != nil {
		return def, openfeature.ProviderResolutionDetail{
			Reason:          openfeature.ErrorReason,
			ResolutionError: openfeature.NewInvalidContextResolutionError(err.Error()),
		}
	}
	d := detail(ec)
	return d.Value, resolution(d)
}

func resolution[T any](d sdk.Detail[T]) openfeature.ProviderResolutionDetail {
	out := openfeature.ProviderResolutionDetail{
		Reason:       openfeature.Reason(d.Reason),
		Variant:      d.Variant,
		FlagMetadata: openfeature.FlagMetadata{"version": d.FlagVersion},
	}
	if d.RuleID != "" {
		out.FlagMetadata["rule"] = d.RuleID
	}
	if d.ErrorCode != "" {
		out.ResolutionError = resolutionError(d.ErrorCode)
	}
	return out
}

func resolutionError(code sdk.ErrorCode) openfeature.ResolutionError {
	switch code {
	case eval.ErrorFlagNotFound:
		return openfeature.NewFlagNotFoundResolutionError("flag not found")
	case eval.ErrorTypeMismatch:
		return openfeature.NewTypeMismatchResolutionError("the flag's type differs from the requested one")
	case eval.ErrorTargetingKeyMissing:
		return openfeature.NewTargetingKeyMissingResolutionError("a rollout needs a targeting key (or its bucketBy attribute)")
	case eval.ErrorInvalidContext:
		return openfeature.NewInvalidContextResolutionError("invalid evaluation context")
	case eval.ErrorProviderNotReady:
		return openfeature.NewProviderNotReadyResolutionError("no configuration yet")
	case eval.ErrorParse:
		return openfeature.NewParseErrorResolutionError("configuration could not be parsed")
	}
	return openfeature.NewGeneralResolutionError(string(code))
}
