package demo

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flagpilot/flagpilot/internal/webhook"
)

// The Slack stand-in shows the messages signed with the webhook's secret, and only those.
func TestSlackChannelShowsGenuineMessages(t *testing.T) {
	var mu sync.Mutex
	var shown []string
	c, err := openSlackChannel(func(event string, msg SlackMessage) {
		mu.Lock()
		shown = append(shown, event+" "+msg.Text)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.verifyWith("s3cret")

	post := func(secret, event, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Now().Unix()
		req.Header.Set(webhook.HeaderEvent, event)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	rolledBack := `{"text":"*autopilot* rolled back rollout ` + "`search`" + ` in production"}`
	if status := post("guess", "rollout.rolled_back", rolledBack); status != http.StatusUnauthorized {
		t.Errorf("a forged message: %d, want 401", status)
	}
	if status := post("s3cret", "rollout.started", `{"blocks":[]}`); status != http.StatusBadRequest {
		t.Errorf("a message without text: %d, want 400", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.await(ctx, "rollout.rolled_back", "search"); err == nil {
		t.Error("await found a message before any genuine one arrived")
	}

	waited := make(chan SlackMessage)
	go func() {
		msg, err := c.await(context.Background(), "rollout.rolled_back", "search")
		if err != nil {
			t.Error(err)
		}
		waited <- msg
	}()
	if status := post("s3cret", "rollout.rolled_back", rolledBack); status != http.StatusOK {
		t.Fatalf("a genuine message: %d", status)
	}
	if msg := <-waited; msg.Text != "*autopilot* rolled back rollout `search` in production" {
		t.Errorf("await returned %q", msg.Text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(shown) != 1 || shown[0] != "rollout.rolled_back *autopilot* rolled back rollout `search` in production" {
		t.Errorf("shown %q", shown)
	}
}
