package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/store/sqlite"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/internal/webhook"
)

const secret = "whsec-test"

// payload is an event as the service layer stores it.
const payload = `{"id":"17","type":"flag.changed","action":"flag.config.updated","time":"2025-03-04T05:06:07Z",` +
	`"actor":{"kind":"user","id":"u1","name":"alice"},"project":"shop","environment":"production",` +
	`"resource":{"type":"flag","key":"new-checkout"},"before":{"enabled":false},"after":{"enabled":true},"comment":"ship it"}`

func TestDeliversSignedPayload(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	rcv := newReceiver(t, http.StatusOK)
	hook := createHook(t, store, rcv.URL, domain.WebhookFormatJSON, true)
	del := enqueue(t, store, hook.ID, clock.Now())
	startDispatcher(t, store, webhook.Options{Now: clock.Now})

	got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Status != domain.DeliveryPending })
	if got.Status != domain.DeliveryDelivered || got.Attempts != 1 || got.LastStatus != 200 || got.LastError != "" {
		t.Errorf("delivery = %+v, want delivered at the first attempt", got)
	}
	if got.DeliveredAt == nil || !got.DeliveredAt.Equal(clock.Now()) {
		t.Errorf("DeliveredAt = %v, want %v", got.DeliveredAt, clock.Now())
	}

	req := rcv.requests()[0]
	if string(req.body) != payload {
		t.Errorf("body = %s, want the stored event", req.body)
	}
	wantHeaders := map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "Flagpilot-Webhook/1",
		webhook.HeaderEvent:     "flag.changed",
		webhook.HeaderDelivery:  strconv.FormatInt(del.ID, 10),
		webhook.HeaderTimestamp: strconv.FormatInt(clock.Now().Unix(), 10),
	}
	for name, want := range wantHeaders {
		if v := req.header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if err := webhook.Verify(secret, req.header, req.body, clock.Now(), time.Minute); err != nil {
		t.Errorf("Verify rejected a genuine delivery: %v", err)
	}
	tampered := []byte(strings.Replace(string(req.body), `"enabled":true`, `"enabled":false`, 1))
	if err := webhook.Verify(secret, req.header, tampered, clock.Now(), time.Minute); err == nil {
		t.Error("Verify accepted a tampered body")
	}
	if err := webhook.Verify(secret, req.header, req.body, clock.Now().Add(time.Hour), time.Minute); err == nil {
		t.Error("Verify accepted a replay an hour later")
	}
}

func TestSlackFormatIsSignedToo(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	rcv := newReceiver(t, http.StatusOK)
	hook := createHook(t, store, rcv.URL, domain.WebhookFormatSlack, true)
	enqueue(t, store, hook.ID, clock.Now())
	startDispatcher(t, store, webhook.Options{Now: clock.Now})

	waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Status == domain.DeliveryDelivered })
	req := rcv.requests()[0]
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(req.body, &msg); err != nil {
		t.Fatalf("slack body is not JSON: %v", err)
	}
	if want := "*alice* updated flag `new-checkout` in production: ship it\n• `enabled`: `false` → `true`"; msg.Text != want {
		t.Errorf("text = %q, want %q", msg.Text, want)
	}
	if len(msg.Blocks) == 0 {
		t.Error("no blocks")
	}
	if err := webhook.Verify(secret, req.header, req.body, clock.Now(), time.Minute); err != nil {
		t.Errorf("Verify rejected a Slack delivery: %v", err)
	}
}

func TestRetriesWithBackoffUntilDelivered(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusInternalServerError, http.StatusOK)
	hook := createHook(t, store, rcv.URL, domain.WebhookFormatJSON, true)
	del := enqueue(t, store, hook.ID, clock.Now())
	var obs observer
	d := startDispatcher(t, store, webhook.Options{
		Now: clock.Now, BaseBackoff: time.Minute, MaxBackoff: time.Hour,
		Jitter: noJitter, Observer: obs.observe,
	})

	// Each failure puts the next attempt off by twice as long; the clock is moved past it.
	for attempt, backoff := range []time.Duration{time.Minute, 2 * time.Minute} {
		got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Attempts == attempt+1 })
		if got.Status != domain.DeliveryPending || got.LastStatus != 500 || !strings.Contains(got.LastError, "500") {
			t.Errorf("after attempt %d: %+v, want pending with the 500 recorded", attempt+1, got)
		}
		if want := clock.Now().Add(backoff); !got.NextAttemptAt.Equal(want) {
			t.Errorf("after attempt %d: next attempt at %v, want %v", attempt+1, got.NextAttemptAt, want)
		}
		clock.Advance(backoff)
		d.Kick()
	}

	got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Status != domain.DeliveryPending })
	if got.Status != domain.DeliveryDelivered || got.Attempts != 3 || got.LastStatus != 200 || got.LastError != "" {
		t.Errorf("delivery = %+v, want delivered after 3 attempts with last status 200", got)
	}
	for _, req := range rcv.requests() {
		if id := req.header.Get(webhook.HeaderDelivery); id != strconv.FormatInt(del.ID, 10) {
			t.Errorf("retry sent delivery id %s, want the same id %d every time", id, del.ID)
		}
	}
	if want := []string{"retry", "retry", "delivered"}; !slices.Equal(obs.outcomes(), want) {
		t.Errorf("observed outcomes %v, want %v", obs.outcomes(), want)
	}
}

func TestNewDispatcherResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flagpilot.db")
	clock := newClock()
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusOK)

	first := openStore(t, path)
	hook := createHook(t, first, rcv.URL, domain.WebhookFormatJSON, true)
	enqueue(t, first, hook.ID, clock.Now())
	opts := webhook.Options{Now: clock.Now, BaseBackoff: time.Minute, Jitter: noJitter}
	stop := runDispatcher(t, webhook.New(first, opts))
	waitFor(t, first, hook.ID, func(d domain.Delivery) bool { return d.Attempts == 1 })
	stop()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Minute)
	second := openStore(t, path)
	runDispatcher(t, webhook.New(second, opts))
	got := waitFor(t, second, hook.ID, func(d domain.Delivery) bool { return d.Status != domain.DeliveryPending })
	if got.Status != domain.DeliveryDelivered || got.Attempts != 2 || len(rcv.requests()) != 2 {
		t.Errorf("after restart: %+v with %d requests, want delivered at the second attempt", got, len(rcv.requests()))
	}
}

func TestAttemptCutShortByShutdownIsNotRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flagpilot.db")
	clock := newClock()
	hang, arrived := newHangingReceiver(t)

	first := openStore(t, path)
	hook := createHook(t, first, hang.URL, domain.WebhookFormatJSON, true)
	enqueue(t, first, hook.ID, clock.Now())
	stop := runDispatcher(t, webhook.New(first, webhook.Options{Now: clock.Now}))
	<-arrived
	stop() // returns only once the attempt in flight has ended
	if got := deliveries(t, first, hook.ID)[0]; got.Status != domain.DeliveryPending || got.Attempts != 0 {
		t.Errorf("after shutdown mid-attempt: %+v, want pending with no attempt recorded", got)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// The receiver is back; the next process sends it again.
	rcv := newReceiver(t, http.StatusOK)
	second := openStore(t, path)
	if err := second.Update(t.Context(), func(tx domain.Tx) error {
		hook.URL = rcv.URL
		return tx.UpdateWebhook(t.Context(), hook)
	}); err != nil {
		t.Fatal(err)
	}
	runDispatcher(t, webhook.New(second, webhook.Options{Now: clock.Now}))
	got := waitFor(t, second, hook.ID, func(d domain.Delivery) bool { return d.Status != domain.DeliveryPending })
	if got.Status != domain.DeliveryDelivered || got.Attempts != 1 {
		t.Errorf("after restart: %+v, want delivered", got)
	}
}

func TestGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // the receiver's answers, the last one repeated
		disabled  bool
		wantTries int
		wantLast  int
		wantError string
	}{
		{name: "410 Gone is not retried", statuses: []int{http.StatusGone}, wantTries: 1, wantLast: 410, wantError: "410"},
		{name: "after MaxAttempts", statuses: []int{http.StatusBadGateway}, wantTries: 3, wantLast: 502, wantError: "502"},
		{name: "redirects are not followed", statuses: []int{http.StatusFound}, wantTries: 3, wantLast: 302, wantError: "redirects are not followed"},
		{name: "disabled webhook", statuses: []int{http.StatusOK}, disabled: true, wantTries: 0, wantError: "webhook disabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
			clock := newClock()
			rcv := newReceiver(t, tc.statuses...)
			hook := createHook(t, store, rcv.URL, domain.WebhookFormatJSON, !tc.disabled)
			enqueue(t, store, hook.ID, clock.Now())
			var obs observer
			// Without jitter or backoff, a retry is due at once and taken at the next poll.
			startDispatcher(t, store, webhook.Options{
				Now: clock.Now, MaxAttempts: 3, PollInterval: time.Millisecond,
				Jitter: func(time.Duration) time.Duration { return 0 }, Observer: obs.observe,
			})

			got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Status != domain.DeliveryPending })
			if got.Status != domain.DeliveryFailed || got.Attempts != tc.wantTries || got.LastStatus != tc.wantLast ||
				!strings.Contains(got.LastError, tc.wantError) {
				t.Errorf("delivery = %+v, want failed after %d attempts, last status %d, error containing %q",
					got, tc.wantTries, tc.wantLast, tc.wantError)
			}
			if n := len(rcv.requests()); n != tc.wantTries {
				t.Errorf("receiver got %d requests, want %d", n, tc.wantTries)
			}
			if outcomes := obs.outcomes(); outcomes[len(outcomes)-1] != webhook.OutcomeFailed {
				t.Errorf("observed outcomes %v, want the last to be failed", outcomes)
			}
		})
	}
}

func TestConnectionErrorsAreRetriedWithoutLeakingTheURL(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL + "/services/T000/B000/token-in-the-path"
	gone.Close()
	hook := createHook(t, store, url, domain.WebhookFormatJSON, true)
	enqueue(t, store, hook.ID, clock.Now())
	startDispatcher(t, store, webhook.Options{Now: clock.Now, Jitter: noJitter})

	got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Attempts == 1 })
	if got.Status != domain.DeliveryPending || got.LastStatus != 0 || got.LastError == "" {
		t.Errorf("delivery = %+v, want pending with the connection error recorded", got)
	}
	if strings.Contains(got.LastError, "token-in-the-path") {
		t.Errorf("LastError %q shows the webhook URL", got.LastError)
	}
}

func TestTimeoutsAreRetried(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	slow, _ := newHangingReceiver(t)
	hook := createHook(t, store, slow.URL, domain.WebhookFormatJSON, true)
	enqueue(t, store, hook.ID, clock.Now())
	startDispatcher(t, store, webhook.Options{Now: clock.Now, Client: &http.Client{Timeout: 50 * time.Millisecond}})

	got := waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Attempts == 1 })
	if got.Status != domain.DeliveryPending || !strings.Contains(got.LastError, "Timeout") {
		t.Errorf("delivery = %+v, want pending with a timeout recorded", got)
	}
}

func TestRunRefusesASecondLoop(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "flagpilot.db"))
	clock := newClock()
	hook := createHook(t, store, newReceiver(t, http.StatusOK).URL, domain.WebhookFormatJSON, true)
	enqueue(t, store, hook.ID, clock.Now())
	d := startDispatcher(t, store, webhook.Options{Now: clock.Now})
	// Once the delivery is made, the first Run is surely running.
	waitFor(t, store, hook.ID, func(d domain.Delivery) bool { return d.Status == domain.DeliveryDelivered })
	if err := d.Run(t.Context()); err == nil {
		t.Error("a second Run returned nil; want an error at once")
	}
}

// openStore opens the SQLite store at path, closing it at the end of the test (closing twice
// is harmless to the test).
func openStore(t *testing.T, path string) domain.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func createHook(t *testing.T, store domain.Store, url, format string, enabled bool) domain.Webhook {
	t.Helper()
	h := domain.Webhook{
		ID: "wh1", URL: url, Events: []string{"flag.*"}, Format: format, Secret: secret,
		Enabled: enabled, CreatedAt: time.Now().UTC(),
	}
	if err := store.Update(t.Context(), func(tx domain.Tx) error { return tx.CreateWebhook(t.Context(), h) }); err != nil {
		t.Fatal(err)
	}
	return h
}

// enqueue writes a due delivery, as the service layer does with a change.
func enqueue(t *testing.T, store domain.Store, webhookID string, now time.Time) domain.Delivery {
	t.Helper()
	d := domain.Delivery{
		WebhookID: webhookID, EventType: "flag.changed", Payload: json.RawMessage(payload),
		Status: domain.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
	}
	if err := store.Update(t.Context(), func(tx domain.Tx) error { return tx.EnqueueDelivery(t.Context(), &d) }); err != nil {
		t.Fatal(err)
	}
	return d
}

func deliveries(t *testing.T, store domain.Store, webhookID string) []domain.Delivery {
	t.Helper()
	ds, err := store.ListDeliveries(t.Context(), webhookID, 10)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// waitFor polls the delivery log until the webhook's only delivery satisfies ok, and returns it.
func waitFor(t *testing.T, store domain.Store, webhookID string, ok func(domain.Delivery) bool) domain.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := deliveries(t, store, webhookID)
		if len(ds) != 1 {
			t.Fatalf("%d deliveries, want 1", len(ds))
		}
		if ok(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery stuck at %+v", ds[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startDispatcher runs a dispatcher until the end of the test.
func startDispatcher(t *testing.T, store domain.Store, opts webhook.Options) *webhook.Dispatcher {
	d := webhook.New(store, opts)
	runDispatcher(t, d)
	return d
}

// runDispatcher runs d in the background and returns a function that stops it and waits for
// Run to return; the test's cleanup calls it too.
func runDispatcher(t *testing.T, d *webhook.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newClock returns a test clock that moves only when told to.
func newClock() *testenv.Clock { return testenv.NewClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) }

// noJitter waits the whole backoff ceiling, so that retry times are predictable.
func noJitter(ceiling time.Duration) time.Duration { return ceiling }

type observer struct {
	mu   sync.Mutex
	seen []string
}

func (o *observer) observe(_, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, outcome)
}

func (o *observer) outcomes() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.seen)
}

// receiver is a webhook endpoint that answers with the given statuses in turn, repeating the
// last, and keeps what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []request
}

type request struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := r.statuses[min(len(r.got), len(r.statuses)-1)]
		r.got = append(r.got, request{header: req.Header, body: body})
		r.mu.Unlock()
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// newHangingReceiver returns an endpoint that never answers, and a channel that receives a
// value when a request arrives.
func newHangingReceiver(t *testing.T) (*httptest.Server, <-chan struct{}) {
	arrived := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices that the client went away, and cancels the request's context,
		// only once the body has been read.
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, arrived
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}
