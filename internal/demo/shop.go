package demo

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/flagpilot/flagpilot/sdk"
)

// The flags the shop reads, as shop.yaml defines them.
const (
	FlagNewCheckout          = "new-checkout"          // broken: every checkout fails for those who get it
	FlagSmartRecommendations = "smart-recommendations" // buggy: half the recommendations fail
	FlagFastSearch           = "fast-search"           // healthy: search answers faster
	FlagFreeShipping         = "free-shipping"         // targeting only: Canada ships free
)

// Request headers that say who is calling, as a session would.
const (
	HeaderUserID      = "X-User-Id"
	HeaderUserEmail   = "X-User-Email"
	HeaderUserCountry = "X-User-Country"
)

// Behaviour of the shop's code paths.
const (
	flakyShare           = 0.01 // requests that fail whatever the flags: a flaky upstream, the baseline error rate
	buggyRecommendations = 0.5  // recommendations that fail on the smart-recommendations code path
	latencySpread        = 0.35 // σ of log-latency
	fastSearchSpeedup    = 0.6  // fast-search's latency relative to the old search
	shippingFee          = 4.99
)

// Median latencies of the endpoints' work, which the shop spends sleeping.
var (
	searchLatency          = 12 * time.Millisecond
	recommendationsLatency = 15 * time.Millisecond
	checkoutLatency        = 25 * time.Millisecond
)

// Dice are the shop's random draws: which requests fail and how long work takes.
type Dice interface {
	Float64() float64     // uniform in [0, 1)
	NormFloat64() float64 // standard normal
}

// randomDice draws from math/rand/v2's global source, which is safe for concurrent use.
type randomDice struct{}

func (randomDice) Float64() float64     { return rand.Float64() }
func (randomDice) NormFloat64() float64 { return rand.NormFloat64() }

// Shop is the demo's online shop: an HTTP service whose behaviour depends on its flags,
// evaluated locally by the Go SDK, and whose every request sdk.Middleware reports to Flagpilot
// with its duration and whether it failed (a 5xx).
type Shop struct {
	flags *sdk.Client
	dice  Dice
}

// NewShop returns the shop reading its flags from flags; nil dice draws at random.
func NewShop(flags *sdk.Client, dice Dice) *Shop {
	if dice == nil {
		dice = randomDice{}
	}
	return &Shop{flags: flags, dice: dice}
}

type userKey struct{}

// Handler serves the shop: GET /search, GET /recommendations and POST /checkout, for the user
// the request headers name.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /recommendations", s.recommendations)
	mux.HandleFunc("POST /checkout", s.checkout)
	monitored := sdk.Middleware(s.flags, mux, func(r *http.Request) sdk.Context {
		return r.Context().Value(userKey{}).(sdk.Context)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := userOf(r.Header)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		monitored.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// userOf builds the evaluation context of the user a request is made for.
func userOf(h http.Header) (sdk.Context, error) {
	id := h.Get(HeaderUserID)
	if id == "" {
		return sdk.Context{}, errors.New(HeaderUserID + ": required")
	}
	return sdk.NewContext(id, map[string]any{"email": h.Get(HeaderUserEmail), "country": h.Get(HeaderUserCountry)})
}

func (s *Shop) search(w http.ResponseWriter, r *http.Request) {
	user := r.Context().Value(userKey{}).(sdk.Context)
	latency, index := searchLatency, "classic"
	if s.flags.BoolValue(r.Context(), FlagFastSearch, false, user) {
		latency, index = time.Duration(float64(latency)*fastSearchSpeedup), "vector"
	}
	if s.work(w, latency) {
		writeJSON(w, http.StatusOK, map[string]any{"index": index, "results": []string{"lamp", "desk", "chair"}})
	}
}

func (s *Shop) recommendations(w http.ResponseWriter, r *http.Request) {
	user := r.Context().Value(userKey{}).(sdk.Context)
	model := "bestsellers"
	if s.flags.BoolValue(r.Context(), FlagSmartRecommendations, false, user) {
		model = "smart"
		if s.dice.Float64() < buggyRecommendations {
			s.pause(recommendationsLatency)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "smart model: no embedding for this user"})
			return
		}
	}
	if s.work(w, recommendationsLatency) {
		writeJSON(w, http.StatusOK, map[string]any{"model": model, "items": []string{"mug", "notebook"}})
	}
}

func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	user := r.Context().Value(userKey{}).(sdk.Context)
	if s.flags.BoolValue(r.Context(), FlagNewCheckout, false, user) {
		s.pause(checkoutLatency)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "new checkout: payment provider rejected an empty card token"})
		return
	}
	if !s.work(w, checkoutLatency) {
		return
	}
	subtotal := math.Round(2000+8000*s.dice.Float64()) / 100
	shipping := shippingFee
	if s.flags.BoolValue(r.Context(), FlagFreeShipping, false, user) {
		shipping = 0
	}
	s.flags.Track(r.Context(), "checkout.completed", subtotal+shipping, user)
	writeJSON(w, http.StatusOK, map[string]any{"subtotal": subtotal, "shipping": shipping})
}

// work spends an endpoint's usual time and reports whether it succeeded; when the flaky
// upstream failed, it has answered 503.
func (s *Shop) work(w http.ResponseWriter, median time.Duration) bool {
	s.pause(median)
	if s.dice.Float64() < flakyShare {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "upstream timed out"})
		return false
	}
	return true
}

// pause sleeps for a log-normal time around median.
func (s *Shop) pause(median time.Duration) {
	time.Sleep(time.Duration(float64(median) * math.Exp(latencySpread*s.dice.NormFloat64())))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // plain maps; a failed write means the client left
}
