package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// sdkGet sends a GET with an SDK key to the server, as an SDK would.
func sdkGet(ctx context.Context, t *testing.T, url, key string) *http.Response {
	t.Helper()
	req := testenv.Must(http.NewRequestWithContext(ctx, http.MethodGet, url, nil)).OK(t)
	req.Header.Set("Authorization", "Bearer "+key)
	resp := testenv.Must(http.DefaultClient.Do(req)).OK(t)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	return resp
}

// ofrepReason evaluates a boolean flag over OFREP with an SDK key, as any OpenFeature OFREP
// provider would, and returns the reason.
func ofrepReason(ctx context.Context, t *testing.T, base, key, flag string) string {
	t.Helper()
	body := strings.NewReader(`{"context":{"targetingKey":"user-1"}}`)
	req := testenv.Must(http.NewRequestWithContext(ctx, http.MethodPost, base+"/ofrep/v1/evaluate/flags/"+flag, body)).OK(t)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	resp := testenv.Must(http.DefaultClient.Do(req)).OK(t)
	defer resp.Body.Close()
	var out struct {
		Value  any    `json:"value"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("OFREP %s: %s %v", flag, resp.Status, err)
	}
	if _, ok := out.Value.(bool); !ok {
		t.Fatalf("OFREP %s: value %v is not a boolean", flag, out.Value)
	}
	return out.Reason
}

// nextSnapshot reads Server-Sent Events until the next snapshot event, skipping heartbeats.
func nextSnapshot(t *testing.T, r *bufio.Reader) snapshot.Snapshot {
	t.Helper()
	var data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
		if line == "" && data != "" {
			var s snapshot.Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatalf("event data is not a snapshot: %v\n%s", err, data)
			}
			return s
		}
	}
}

// A server SDK key reads the flags it was made for, evaluates them over OFREP, and follows their
// changes over the stream; stopping the server ends the stream at once rather than after the
// shutdown timeout.
func TestSDKReceivesSnapshotsAndChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startServer(t, t.TempDir(), newAdminToken())
	c := srv.client(t)
	testenv.Must(c.CreateProject(ctx, domain.Project{Key: "shop"})).OK(t)
	testenv.Must(c.CreateEnvironment(ctx, domain.Environment{Project: "shop", Key: "production"})).OK(t)
	testenv.Must(c.CreateFlag(ctx, domain.Flag{Project: "shop", Key: "new-checkout", Type: snapshot.TypeBoolean})).OK(t)
	key := testenv.Must(c.CreateSDKKey(ctx, "shop", "production", "checkout-service", domain.SDKKeyServer)).OK(t)

	resp := sdkGet(ctx, t, srv.url+"/sdk/v1/snapshot", key.Secret)
	var s snapshot.Snapshot
	err := json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s.Project != "shop" || s.Environment != "production" || len(s.Flags) != 1 || s.Flags[0].Key != "new-checkout" || s.Flags[0].Enabled {
		t.Fatalf("snapshot %+v", s)
	}

	streamCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream := sdkGet(streamCtx, t, srv.url+"/sdk/v1/stream", key.Secret)
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	if first := nextSnapshot(t, events); first.Version != s.Version {
		t.Fatalf("the stream starts at version %d, the snapshot endpoint said %d", first.Version, s.Version)
	}
	if reason := ofrepReason(ctx, t, srv.url, key.Secret, "new-checkout"); reason != "DISABLED" {
		t.Fatalf("OFREP reason %s for a disabled flag", reason)
	}
	testenv.Must(c.ToggleFlag(ctx, "shop", "new-checkout", "production", true, 0)).OK(t)
	changed := nextSnapshot(t, events)
	if changed.Version <= s.Version || !changed.Flags[0].Enabled {
		t.Fatalf("after the toggle the stream sent version %d with %+v", changed.Version, changed.Flags[0])
	}
	// The snapshot that reached the stream is the one OFREP evaluates: enabled, the flag now
	// serves its default.
	if reason := ofrepReason(ctx, t, srv.url, key.Secret, "new-checkout"); reason != "DEFAULT" {
		t.Fatalf("OFREP reason %s after the flag was turned on", reason)
	}

	stopped := time.Now()
	if err := srv.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server did not stop within 10s with a stream open:\n%s", srv.out)
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("the server exited with %d:\n%s", code, srv.out)
	}
	if _, err := io.Copy(io.Discard, events); err != nil {
		t.Errorf("the stream did not end cleanly: %v", err)
	}
	t.Logf("the server stopped %v after the interrupt, stream included", time.Since(stopped))
}
