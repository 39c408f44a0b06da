package demo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flagpilot/flagpilot/internal/webhook"
)

// SlackMessage is a message as a Slack incoming webhook receives it; Text is all that
// receivers without Block Kit show, and Flagpilot puts the whole message in it.
type SlackMessage struct {
	Text string `json:"text"`
}

// slackChannel stands in for a Slack channel: a local HTTP server that takes Flagpilot's
// Slack-format webhook deliveries, checks their signatures as a receiver should, and shows each
// message as it arrives.
type slackChannel struct {
	srv  *http.Server
	url  string
	show func(event string, msg SlackMessage)

	mu       sync.Mutex
	secret   string
	received []receivedMessage
	arrival  chan struct{} // closed at the next arrival
}

type receivedMessage struct {
	event string
	msg   SlackMessage
}

// maxSlackBody bounds a delivery's body; Flagpilot's messages are a few KiB.
const maxSlackBody = 1 << 20

// openSlackChannel listens on a free loopback port; show is called for every genuine message.
func openSlackChannel(show func(event string, msg SlackMessage)) (*slackChannel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &slackChannel{url: "http://" + ln.Addr().String() + "/", show: show, arrival: make(chan struct{})}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second}
	go c.srv.Serve(ln) // ends with Close
	return c, nil
}

// verifyWith sets the secret deliveries are signed with, which the server shows when the
// webhook is created.
func (c *slackChannel) verifyWith(secret string) {
	c.mu.Lock()
	c.secret = secret
	c.mu.Unlock()
}

func (c *slackChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSlackBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	c.mu.Lock()
	secret := c.secret
	c.mu.Unlock()
	if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var msg SlackMessage
	if err := json.Unmarshal(body, &msg); err != nil || msg.Text == "" {
		http.Error(w, "expected a Slack message with a text", http.StatusBadRequest)
		return
	}
	event := r.Header.Get(webhook.HeaderEvent)
	c.show(event, msg)
	c.mu.Lock()
	c.received = append(c.received, receivedMessage{event, msg})
	close(c.arrival)
	c.arrival = make(chan struct{})
	c.mu.Unlock()
}

// await waits for a message of event type event whose text names flag.
func (c *slackChannel) await(ctx context.Context, event, flag string) (SlackMessage, error) {
	for {
		c.mu.Lock()
		arrival := c.arrival
		for _, m := range c.received {
			if m.event == event && strings.Contains(m.msg.Text, "`"+flag+"`") {
				c.mu.Unlock()
				return m.msg, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-arrival:
		case <-ctx.Done():
			return SlackMessage{}, errors.New("no " + event + " message about " + flag + " reached the Slack stand-in")
		}
	}
}

func (c *slackChannel) close() { c.srv.Close() }
