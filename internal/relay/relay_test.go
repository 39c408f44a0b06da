package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	wire "github.com/flagpilot/flagpilot/sdk/snapshot"
)

// The relay starts from the upstream's snapshot, and when the stream is lost it resumes with
// Last-Event-ID at the version it holds.
func TestRelayResumesFromItsVersion(t *testing.T) {
	const key = "fps_relay"
	doc := func(version int64) []byte {
		data, err := json.Marshal(wire.Snapshot{Schema: wire.SchemaVersion, Project: "shop", Environment: "production", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	resumedFrom := make(chan string, 4)
	streams := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sdk/v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(doc(1))
	})
	mux.HandleFunc("GET /sdk/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		streams++ // the relay holds one stream at a time
		resumedFrom <- r.Header.Get("Last-Event-ID")
		// The first stream sends version 2 and breaks; the next one sends 3 and stays open.
		fmt.Fprintf(w, ": ping\n\nid: %d\nevent: snapshot\ndata: %s\n\n", streams+1, doc(int64(streams+1)))
		w.(http.Flusher).Flush()
		if streams > 1 {
			<-r.Context().Done()
		}
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()

	r := New(upstream.URL+"/", key, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for _, want := range []string{"1", "2"} {
		select {
		case got := <-resumedFrom:
			if got != want {
				t.Fatalf("stream opened with Last-Event-ID %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no stream with Last-Event-ID %s within 10s", want)
		}
	}
	if err := r.Ready(ctx); err != nil {
		t.Fatalf("Ready = %v after the first snapshot", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := r.Source().Get(ctx, "shop", "production")
		if err != nil {
			t.Fatal(err)
		}
		if e.Version == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay holds version %d, want 3", e.Version)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := r.Source().Get(ctx, "shop", "staging"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("Get of another environment: %v, want not_found", err)
	}

	p, err := r.Authenticate(ctx, key)
	if err != nil || p.Project != "shop" || p.Environment != "production" || p.KeyKind != domain.SDKKeyServer {
		t.Errorf("Authenticate(the relay's key) = %+v, %v", p, err)
	}
	if _, err := r.Authenticate(ctx, "fps_other"); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Errorf("Authenticate(another key) = %v, want unauthorized", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after its context ended", err)
	}
}
