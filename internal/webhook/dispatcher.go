package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Outcomes of a delivery attempt, as reported to Options.Observer.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"  // failed; will be retried
	OutcomeFailed    = "failed" // failed; given up
)

// Options configures a Dispatcher. Zero values select the defaults.
type Options struct {
	// Client sends the requests. The default times out after 10 s and follows no redirects,
	// so a receiver cannot bounce deliveries to another host.
	Client *http.Client
	// Logger receives the dispatcher's records; nil discards them.
	Logger *slog.Logger
	// Now is the clock that decides what is due and stamps signatures (default time.Now).
	Now func() time.Time
	// PollInterval is how often the outbox is checked when nobody calls Kick (default 1 s).
	PollInterval time.Duration
	// Concurrency bounds the webhooks sent to at once (default 4).
	Concurrency int
	// MaxAttempts is the number of attempts after which a delivery fails (default 8).
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the wait before a retry: after attempt n it is
	// Jitter(min(MaxBackoff, BaseBackoff·2ⁿ⁻¹)) (defaults 2 s and 10 min).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Jitter picks the actual wait, from 0 to ceiling inclusive. The default draws it
	// uniformly ("full jitter"), which spreads the retries of many deliveries that failed
	// together; tests pass a deterministic function.
	Jitter func(ceiling time.Duration) time.Duration
	// Observer, when set, is told the outcome of every attempt and how long it took, for
	// metrics. Deliveries failed without a request (disabled webhook) report a zero duration.
	Observer func(webhookID, outcome string, d time.Duration)
}

// batchSize is how many due deliveries are fetched at once.
const batchSize = 100

// recordTimeout bounds writing an attempt's outcome, which is done even while shutting down
// so that a completed attempt is not repeated.
const recordTimeout = 5 * time.Second

// maxErrorLen bounds Delivery.LastError (in runes), which is shown in the delivery log.
const maxErrorLen = 500

// Dispatcher sends the deliveries of the outbox. Create it with New and run it with Run.
type Dispatcher struct {
	store   domain.Store
	opts    Options
	log     *slog.Logger
	kick    chan struct{}
	running atomic.Bool
}

// New returns a dispatcher over store's outbox.
func New(store domain.Store, opts Options) *Dispatcher {
	if opts.Client == nil {
		opts.Client = &http.Client{
			Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	if opts.Jitter == nil {
		opts.Jitter = func(ceiling time.Duration) time.Duration { return rand.N(ceiling + 1) }
	}
	return &Dispatcher{store: store, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
}

// Kick makes a running dispatcher check the outbox now rather than at its next poll. The
// service calls it after committing a change that enqueued deliveries. It never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default: // a check is already pending, and it will see the new deliveries
	}
}

// Run sends due deliveries until ctx is done, then waits for the attempts in flight and returns
// nil. Store errors are logged and retried at the next poll: a database hiccup must not stop
// deliveries. Only one Run may be active per dispatcher, since two would send the same
// deliveries twice; a second one returns an error at once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("webhook: dispatcher is already running")
	}
	defer d.running.Store(false)

	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
		case <-poll.C:
		}
		d.sendDue(ctx)
		poll.Reset(d.opts.PollInterval)
	}
}

// sendDue sends due deliveries, batch after batch while batches come back full.
func (d *Dispatcher) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := d.store.DueDeliveries(ctx, d.opts.Now(), batchSize)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("reading due webhook deliveries", "error", err)
			}
			return
		}
		// A batch with a delivery left unrecorded (store error, shutdown) would come back
		// unchanged at once, so the next poll takes it.
		if recorded := d.sendBatch(ctx, due); len(due) < batchSize || recorded < len(due) {
			return
		}
	}
}

// sendBatch sends a batch and returns how many deliveries it recorded. Each webhook's
// deliveries go one after another, oldest first, so that a receiver sees events in order as
// long as they succeed and a slow receiver holds up only its own deliveries. The batch is
// finished before the next is fetched: deliveries in flight are still due in the store.
func (d *Dispatcher) sendBatch(ctx context.Context, due []domain.Delivery) int {
	byHook := make(map[string][]domain.Delivery)
	var hooks []string
	for _, del := range due {
		if _, ok := byHook[del.WebhookID]; !ok {
			hooks = append(hooks, del.WebhookID)
		}
		byHook[del.WebhookID] = append(byHook[del.WebhookID], del)
	}
	var (
		wg       sync.WaitGroup
		slots    = make(chan struct{}, d.opts.Concurrency)
		recorded atomic.Int64
	)
	for _, id := range hooks {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			recorded.Add(int64(d.sendToHook(ctx, id, byHook[id])))
		})
	}
	wg.Wait()
	return int(recorded.Load())
}

// sendToHook sends deliveries of one webhook in order and returns how many it recorded.
func (d *Dispatcher) sendToHook(ctx context.Context, webhookID string, dels []domain.Delivery) int {
	hook, err := d.store.GetWebhook(ctx, webhookID)
	var abandon string // why the deliveries fail unsent
	switch {
	case domain.ErrorCode(err) == domain.CodeNotFound:
		abandon = "webhook deleted"
	case err != nil:
		if ctx.Err() == nil {
			d.log.Error("reading webhook", "webhook_id", webhookID, "error", err)
		}
		return 0
	case !hook.Enabled:
		abandon = "webhook disabled"
	}
	recorded := 0
	for _, del := range dels {
		if ctx.Err() != nil {
			break
		}
		var ok bool
		if abandon != "" {
			del.Status, del.LastError = domain.DeliveryFailed, abandon
			d.observe(webhookID, OutcomeFailed, 0)
			ok = d.record(ctx, del)
		} else {
			ok = d.attempt(ctx, hook, del)
		}
		if ok {
			recorded++
		}
	}
	return recorded
}

// attempt sends one delivery and records the outcome. It reports whether the outcome was
// recorded; an attempt cut short by ctx is not, so that it stays due and is sent again.
func (d *Dispatcher) attempt(ctx context.Context, hook domain.Webhook, del domain.Delivery) bool {
	now := d.opts.Now()
	body, err := render(hook.Format, del.Payload)
	if err != nil {
		// Retrying cannot fix the payload or the format: give up without sending.
		del.Status, del.LastStatus, del.LastError = domain.DeliveryFailed, 0, clip(err.Error())
		d.observe(hook.ID, OutcomeFailed, 0)
		return d.record(ctx, del)
	}

	start := time.Now()
	status, problem, err := d.send(ctx, hook, del, body, now)
	elapsed := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return false
	}
	del.Attempts++
	del.LastStatus = status
	del.LastError = clip(redact(problem, hook))
	outcome := OutcomeRetry
	switch {
	case status >= 200 && status <= 299:
		outcome = OutcomeDelivered
		del.Status, del.DeliveredAt = domain.DeliveryDelivered, &now
	case status == http.StatusGone:
		outcome = OutcomeFailed
		del.Status = domain.DeliveryFailed
	case del.Attempts >= d.opts.MaxAttempts:
		outcome = OutcomeFailed
		del.Status = domain.DeliveryFailed
	default:
		del.Status, del.NextAttemptAt = domain.DeliveryPending, now.Add(d.backoff(del.Attempts))
	}
	d.observe(hook.ID, outcome, elapsed)

	log := d.log.With("webhook_id", hook.ID, "delivery_id", del.ID, "attempt", del.Attempts, "status", status)
	switch outcome {
	case OutcomeDelivered:
		log.Debug("webhook delivered")
	case OutcomeRetry:
		log.Warn("webhook delivery failed; will retry", "error", del.LastError, "next_attempt_at", del.NextAttemptAt)
	default:
		log.Error("webhook delivery failed; giving up", "error", del.LastError)
	}
	return d.record(ctx, del)
}

// send POSTs a signed body and returns the answer's status with, unless it is a 2xx, a
// description of the problem. err is set, and status 0, when no answer came.
func (d *Dispatcher) send(ctx context.Context, hook domain.Webhook, del domain.Delivery, body []byte, now time.Time) (status int, problem string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		// The URL is left out of the message: it may hold a token (Slack's do).
		return 0, "invalid webhook URL", err
	}
	timestamp := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEvent, del.EventType)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(del.ID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(HeaderSignature, Sign(hook.Secret, timestamp, body))

	resp, err := d.opts.Client.Do(req)
	if err != nil {
		// url.Error quotes the URL; keep only what went wrong.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			return 0, uerr.Err.Error(), err
		}
		return 0, err.Error(), err
	}
	defer resp.Body.Close()
	// The start of the answer helps whoever reads the delivery log; the rest is drained (to a
	// limit) so that the connection can be reused.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, "", nil
	}
	problem = "HTTP " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		problem += " (redirects are not followed)"
	}
	if text := strings.Join(strings.Fields(string(head)), " "); text != "" {
		problem += ": " + text
	}
	return resp.StatusCode, problem, nil
}

// backoff returns the wait after the given number of failed attempts.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	ceiling := d.opts.BaseBackoff
	for i := 1; i < attempts && ceiling < d.opts.MaxBackoff; i++ {
		ceiling *= 2
	}
	return d.opts.Jitter(min(ceiling, d.opts.MaxBackoff))
}

// record stores an attempt's outcome. It goes on after ctx is done, within recordTimeout,
// because an attempt that has ended must be recorded or it would be sent again.
func (d *Dispatcher) record(ctx context.Context, del domain.Delivery) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	err := d.store.Update(ctx, func(tx domain.Tx) error { return tx.UpdateDelivery(ctx, del) })
	if domain.ErrorCode(err) == domain.CodeNotFound {
		// Deleting a webhook deletes its deliveries: this one has nothing left to record.
		return true
	}
	if err != nil {
		d.log.Error("recording webhook delivery", "webhook_id", del.WebhookID, "delivery_id", del.ID, "error", err)
		return false
	}
	return true
}

func (d *Dispatcher) observe(webhookID, outcome string, elapsed time.Duration) {
	if d.opts.Observer != nil {
		d.opts.Observer(webhookID, outcome, elapsed)
	}
}

// redact removes the webhook's URL and secret from a message meant for the delivery log, in
// case a receiver or a library echoes them.
func redact(msg string, hook domain.Webhook) string {
	for _, secret := range []string{hook.URL, hook.Secret} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return msg
}

// clip makes a message fit Delivery.LastError: valid UTF-8 and at most maxErrorLen runes.
func clip(msg string) string {
	return truncate(strings.ToValidUTF8(msg, "�"), maxErrorLen)
}
