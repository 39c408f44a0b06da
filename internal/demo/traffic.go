package demo

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one of the shop's routes with its share of the requests.
type endpoint struct {
	method, path string
	share        float64
}

// endpoints are what shoppers do: mostly search, then browse recommendations, sometimes buy.
var endpoints = []endpoint{
	{http.MethodGet, "/search", 0.5},
	{http.MethodGet, "/recommendations", 0.3},
	{http.MethodPost, "/checkout", 0.2},
}

// Tally counts requests and those that failed: a 5xx, or no answer.
type Tally struct{ Requests, Failures int64 }

// Rate is the share of requests that failed, 0 without requests.
func (t Tally) Rate() float64 {
	if t.Requests == 0 {
		return 0
	}
	return float64(t.Failures) / float64(t.Requests)
}

// Counts are the traffic's tallies by cohort, as the shoppers saw them.
type Counts struct{ Staff, Customers Tally }

// Since returns the tallies of what happened after earlier was taken.
func (c Counts) Since(earlier Counts) Counts {
	return Counts{
		Staff:     Tally{c.Staff.Requests - earlier.Staff.Requests, c.Staff.Failures - earlier.Staff.Failures},
		Customers: Tally{c.Customers.Requests - earlier.Customers.Requests, c.Customers.Failures - earlier.Customers.Failures},
	}
}

// Traffic sends the shop a steady stream of requests from random users of a population.
type Traffic struct {
	shopURL string
	users   Population
	rate    int
	client  *http.Client

	staffRequests, staffFailures       atomic.Int64
	customerRequests, customerFailures atomic.Int64
}

// NewTraffic returns traffic of rate requests a second to the shop at shopURL.
func NewTraffic(shopURL string, users Population, rate int) *Traffic {
	return &Traffic{shopURL: shopURL, users: users, rate: rate, client: &http.Client{
		Timeout: 10 * time.Second,
		// Keep a connection per worker: opening one per request would cost more than the request.
		Transport: &http.Transport{MaxIdleConnsPerHost: workersFor(rate)},
	}}
}

// workersFor is how many requests may be in flight at rate: the shop takes tens of
// milliseconds a request, and a slow moment must not starve the pace.
func workersFor(rate int) int { return max(8, rate/10) }

// pace is how often requests are released: often enough to look steady, seldom enough to cost
// nothing.
const pace = 20 * time.Millisecond

// Run sends requests until ctx is done. When every worker is busy, the requests of that moment
// are skipped rather than queued, so a stall never turns into a burst.
func (t *Traffic) Run(ctx context.Context) {
	workers := workersFor(t.rate)
	release := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for range release {
				t.send(ctx, rng)
			}
		})
	}
	defer func() {
		close(release)
		wg.Wait()
		t.client.CloseIdleConnections()
	}()
	tick := time.NewTicker(pace)
	defer tick.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for owed += float64(t.rate) * pace.Seconds(); owed >= 1; owed-- {
			select {
			case release <- struct{}{}:
			default:
			}
		}
	}
}

// pick draws the next request: a user and what they do.
func (t *Traffic) pick(rng *rand.Rand) (User, endpoint) {
	u := t.users[rng.IntN(len(t.users))]
	x := rng.Float64()
	for _, e := range endpoints {
		if x < e.share {
			return u, e
		}
		x -= e.share
	}
	return u, endpoints[len(endpoints)-1]
}

func (t *Traffic) send(ctx context.Context, rng *rand.Rand) {
	u, e := t.pick(rng)
	req, err := http.NewRequestWithContext(ctx, e.method, t.shopURL+e.path, nil)
	if err != nil {
		return // the URL was checked when the shop started
	}
	req.Header.Set(HeaderUserID, u.ID)
	req.Header.Set(HeaderUserEmail, u.Email)
	req.Header.Set(HeaderUserCountry, u.Country)
	resp, err := t.client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return // cut short by the end of the demo, not failed
	}
	failed := err != nil || resp.StatusCode >= 500
	requests, failures := &t.customerRequests, &t.customerFailures
	if u.Staff() {
		requests, failures = &t.staffRequests, &t.staffFailures
	}
	requests.Add(1)
	if failed {
		failures.Add(1)
	}
}

// Counts returns the tallies so far.
func (t *Traffic) Counts() Counts {
	return Counts{
		Staff:     Tally{t.staffRequests.Load(), t.staffFailures.Load()},
		Customers: Tally{t.customerRequests.Load(), t.customerFailures.Load()},
	}
}
