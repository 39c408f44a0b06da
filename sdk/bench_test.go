package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"time"

	"github.com/flagpilot/flagpilot/sdk"
	"github.com/flagpilot/flagpilot/sdk/eval"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

// checkoutContexts builds n contexts for the new-checkout flag: one in ten is staff, one in
// eight is in Canada, the rest fall through to the 10 % rollout.
func checkoutContexts(n int) []sdk.Context {
	countries := []string{"US", "DE", "FR", "GB", "JP", "BR", "IN", "CA"}
	out := make([]sdk.Context, n)
	for i := range out {
		domain := "example.com"
		if i%10 == 0 {
			domain = "mycompany.com"
		}
		out[i] = sdk.MustContext(fmt.Sprintf("user-%d", i), map[string]any{
			"email":   fmt.Sprintf("user%d@%s", i, domain),
			"country": countries[i%len(countries)],
		})
	}
	return out
}

func newCheckoutClient(b *testing.B) *sdk.Client {
	b.Helper()
	c, err := sdk.New(context.Background(), sdk.Options{File: "testdata/checkout.yaml", ReloadInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkEvaluateCheckout evaluates new-checkout (staff e-mail rule, country rule, 10 %
// rollout) through the public client API with exposure counting on.
func BenchmarkEvaluateCheckout(b *testing.B) {
	ctx := context.Background()
	c := newCheckoutClient(b)
	users := checkoutContexts(10_000)
	on := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if c.BoolValue(ctx, "new-checkout", false, users[i%len(users)]) {
			on++
		}
	}
	b.StopTimer()
	if b.N >= len(users) && (on == 0 || on == b.N) {
		b.Fatalf("served %d of %d on: the rules did not discriminate", on, b.N)
	}
}

// BenchmarkEvaluateCheckoutParallel is the same evaluation from every core at once.
func BenchmarkEvaluateCheckoutParallel(b *testing.B) {
	ctx := context.Background()
	c := newCheckoutClient(b)
	users := checkoutContexts(10_000)
	var start atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(1297)) // spread goroutines over the contexts
		for pb.Next() {
			c.BoolValue(ctx, "new-checkout", false, users[i%len(users)])
			i++
		}
	})
}

// BenchmarkEvaluateCheckoutHandWritten is the floor: the same decision hard-coded, over the
// same contexts' plain fields, with no engine, no lookup and no counting. It runs beside
// BenchmarkEvaluateCheckout so that both are measured on the same machine at the same time.
func BenchmarkEvaluateCheckoutHandWritten(b *testing.B) {
	type user struct{ key, email, country string }
	users := make([]user, 10_000)
	countries := []string{"US", "DE", "FR", "GB", "JP", "BR", "IN", "CA"}
	for i := range users {
		domain := "example.com"
		if i%10 == 0 {
			domain = "mycompany.com"
		}
		users[i] = user{fmt.Sprintf("user-%d", i), fmt.Sprintf("user%d@%s", i, domain), countries[i%len(countries)]}
	}
	decide := func(u *user) bool {
		if strings.HasSuffix(u.email, "@mycompany.com") || u.country == "CA" {
			return true
		}
		return eval.Bucket("new-checkout", u.key) < 10_000
	}
	on := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if decide(&users[i%len(users)]) {
			on++
		}
	}
	b.StopTimer()
	if b.N >= len(users) && (on == 0 || on == b.N) {
		b.Fatalf("served %d of %d on", on, b.N)
	}
}

// newMonitoredCheckoutClient is a server-mode client whose server serves new-checkout marked
// monitored, takes its telemetry every 10 s (the default), and stays up for the benchmark.
func newMonitoredCheckoutClient(b *testing.B) *sdk.Client {
	b.Helper()
	doc, err := flagfile.ParseFile("testdata/checkout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	snap, err := doc.Snapshot("production")
	if err != nil {
		b.Fatal(err)
	}
	snap.Flags[0].Monitor = true
	f := newFakeServer(b, "hello")
	f.with(func(f *fakeServer) { f.extra = snap.Flags })
	c, err := sdk.New(context.Background(), f.options())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if !c.Ready() {
		b.Fatal("the client did not get its snapshot")
	}
	return c
}

// requestDuration spreads durations over 0.1–100 ms, so that the sketch uses many bins.
func requestDuration(i int) time.Duration { return time.Duration(1+i%1000) * 100 * time.Microsecond }

// BenchmarkRecordRequest records request outcomes of the checkout contexts: new-checkout is
// decided again for each, and the duration aggregated for its variant.
func BenchmarkRecordRequest(b *testing.B) {
	ctx := context.Background()
	c := newMonitoredCheckoutClient(b)
	users := checkoutContexts(10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.RecordRequest(ctx, users[i%len(users)], requestDuration(i), i%50 == 0)
	}
}

func BenchmarkRecordRequestParallel(b *testing.B) {
	ctx := context.Background()
	c := newMonitoredCheckoutClient(b)
	users := checkoutContexts(10_000)
	var start atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(1297))
		for pb.Next() {
			c.RecordRequest(ctx, users[i%len(users)], requestDuration(i), i%50 == 0)
			i++
		}
	})
}

// BenchmarkTrack tracks a business metric for the checkout contexts.
func BenchmarkTrack(b *testing.B) {
	ctx := context.Background()
	c := newMonitoredCheckoutClient(b)
	users := checkoutContexts(10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Track(ctx, "revenue", float64(i%100), users[i%len(users)])
	}
}

func BenchmarkTrackParallel(b *testing.B) {
	ctx := context.Background()
	c := newMonitoredCheckoutClient(b)
	users := checkoutContexts(10_000)
	var start atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(1297))
		for pb.Next() {
			c.Track(ctx, "revenue", float64(i%100), users[i%len(users)])
			i++
		}
	})
}
