package demo

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The population is the same for the same seed, with a few percent staff (and only they have
// the company's e-mail domain) and a tenth in Canada.
func TestPopulationMix(t *testing.T) {
	users := NewPopulation(populationSize, 7)
	again := NewPopulation(populationSize, 7)
	ids := map[string]bool{}
	var staff, canada int
	for i, u := range users {
		if u != again[i] {
			t.Fatalf("user %d differs for the same seed: %+v, %+v", i, u, again[i])
		}
		if ids[u.ID] {
			t.Fatalf("user id %s twice", u.ID)
		}
		ids[u.ID] = true
		if u.Staff() {
			staff++
		} else if strings.Contains(u.Email, "mycompany") {
			t.Errorf("customer %+v has a company address", u)
		}
		if u.Country == "CA" {
			canada++
		}
	}
	n := float64(len(users))
	if share := float64(staff) / n; math.Abs(share-staffShare) > 0.005 {
		t.Errorf("staff share %.4f, want %.2f", share, staffShare)
	}
	if share := float64(canada) / n; math.Abs(share-canadaShare) > 0.01 {
		t.Errorf("Canada share %.4f, want %.2f", share, canadaShare)
	}
}

// Requests go to the endpoints in their shares.
func TestTrafficEndpointMix(t *testing.T) {
	tr := NewTraffic("http://127.0.0.1:1", NewPopulation(1000, 1), 100)
	rng := rand.New(rand.NewPCG(1, 2))
	const draws = 100_000
	got := map[string]int{}
	for range draws {
		_, e := tr.pick(rng)
		got[e.method+" "+e.path]++
	}
	for _, e := range endpoints {
		if share := float64(got[e.method+" "+e.path]) / draws; math.Abs(share-e.share) > 0.01 {
			t.Errorf("%s %s: share %.3f, want %.2f", e.method, e.path, share, e.share)
		}
	}
	if len(got) != len(endpoints) {
		t.Errorf("requests went to %v", got)
	}
}

// Traffic sends requests at about its rate, never more, with the users' headers, and tallies
// failures by cohort as the shoppers saw them. The lower bound on the rate is loose: under the
// race detector on a busy machine, a request costs a lot more than it does in the demo.
func TestTrafficTalliesFailuresByCohort(t *testing.T) {
	var mu sync.Mutex
	received := map[string]int{} // by user id
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received[r.Header.Get(HeaderUserID)]++
		mu.Unlock()
		if strings.HasSuffix(r.Header.Get(HeaderUserEmail), StaffDomain) {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer shop.Close()
	users := NewPopulation(10_000, 3)
	const rate, span = 500, time.Second
	tr := NewTraffic(shop.URL, users, rate)
	ctx, cancel := context.WithTimeout(context.Background(), span)
	defer cancel()
	tr.Run(ctx)

	got := tr.Counts()
	total := got.Staff.Requests + got.Customers.Requests
	if total < rate/4 || total > rate*3/2 {
		t.Errorf("%d requests in %s at %d a second", total, span, rate)
	}
	if got.Staff.Failures != got.Staff.Requests || got.Customers.Failures != 0 || got.Staff.Requests == 0 {
		t.Errorf("tallies %+v: every staff request fails, no customer request does", got)
	}
	if share := float64(got.Staff.Requests) / float64(total); share < 0.01 || share > 0.06 {
		t.Errorf("staff made %.3f of the requests, want about %.2f", share, staffShare)
	}
	mu.Lock()
	defer mu.Unlock()
	var sent int
	for id, n := range received {
		if !strings.HasPrefix(id, "user-") {
			t.Errorf("request for user %q", id)
		}
		sent += n
	}
	if int64(sent) < total {
		t.Errorf("the shop received %d requests, the traffic tallied %d", sent, total)
	}
	if since := got.Since(Counts{Staff: Tally{1, 1}}); since.Staff.Requests != got.Staff.Requests-1 || since.Staff.Rate() != 1 {
		t.Errorf("Since: %+v", since)
	}
}
