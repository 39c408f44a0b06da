// Package apiclient is a typed client of Flagpilot's management API (/api/v1). The CLI and the
// end-to-end tests use it, so they reach the server only the way any other client would.
//
// Methods take a context first. Entities travel as the internal/domain types whose JSON the
// server speaks; the few bodies that are not entities have small types here. Failures the
// server reports come back as *Error; IsNotFound, IsConflict and friends test for the common
// ones. The reason for a change, recorded in the audit log, rides in the context: see
// WithComment.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Flagpilot server with one admin token. It is safe for concurrent use.
type Client struct {
	base  string // scheme://host[:port][/prefix], without a trailing slash
	token string
	http  *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc, for custom transports or timeouts. The default
// client gives up on a request after 30 seconds.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// New returns a client of the server at baseURL (such as http://127.0.0.1:8080) that
// authenticates with token. An empty token sends no credentials, which only the OpenAPI
// document accepts.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("apiclient: server URL %q: expected http(s)://host[:port]", baseURL)
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

type commentKey struct{}

// WithComment returns a context whose changes are recorded in the audit log with comment, the
// reason for them. It is sent as the X-Flagpilot-Comment header.
func WithComment(ctx context.Context, comment string) context.Context {
	return context.WithValue(ctx, commentKey{}, comment)
}

func commentFrom(ctx context.Context) string {
	c, _ := ctx.Value(commentKey{}).(string)
	return c
}

// ErrEmptyKey is returned, before anything is sent, when a key or id that names a resource in
// the URL is empty: the request would address the collection instead, or a path the server
// redirects.
var ErrEmptyKey = errors.New("apiclient: empty key")

// request is one API call.
type request struct {
	method string
	// path alternates collection names and keys under /api/v1, such as
	// {"projects", "shop", "flags", "new-checkout"}; it may end with a collection.
	path  []string
	query url.Values
	// body is sent as JSON unless nil. raw, when set instead, is sent as is with contentType.
	body        any
	raw         []byte
	contentType string
	// ifMatch, when positive, is sent as If-Match: "<ifMatch>".
	ifMatch int64
}

// url builds the request's escaped URL, refusing empty keys.
func (r request) url(base string) (string, error) {
	var b strings.Builder
	b.WriteString(base + "/api/v1")
	for i, part := range r.path {
		if i%2 == 1 && part == "" {
			return "", fmt.Errorf("%w in /api/v1/%s/…", ErrEmptyKey, strings.Join(r.path[:i], "/"))
		}
		b.WriteString("/" + url.PathEscape(part))
	}
	if len(r.query) > 0 {
		b.WriteString("?" + r.query.Encode())
	}
	return b.String(), nil
}

// do sends req. A successful answer is decoded into out: the raw body into a *[]byte, JSON into
// anything else, nothing when out is nil. It returns the answer's headers.
func (c *Client) do(ctx context.Context, req request, out any) (http.Header, error) {
	u, err := req.url(c.base)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	contentType := req.contentType
	switch {
	case req.raw != nil:
		body = bytes.NewReader(req.raw)
	case req.body != nil:
		data, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: encode %s body: %w", req.method, err)
		}
		body, contentType = bytes.NewReader(data), "application/json"
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	if comment := commentFrom(ctx); comment != "" {
		hr.Header.Set("X-Flagpilot-Comment", comment)
	}
	if req.ifMatch > 0 {
		hr.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(req.ifMatch, 10)))
	}
	res, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return nil, decodeError(res)
	}
	switch out := out.(type) {
	case nil:
	case *[]byte:
		if *out, err = io.ReadAll(res.Body); err != nil {
			return nil, fmt.Errorf("apiclient: read %s %s: %w", req.method, hr.URL.Path, err)
		}
	default:
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("apiclient: decode %s %s: %w", req.method, hr.URL.Path, err)
		}
	}
	return res.Header, nil
}

// call sends req and decodes the JSON answer into a T.
func call[T any](ctx context.Context, c *Client, req request) (T, error) {
	var out T
	_, err := c.do(ctx, req, &out)
	return out, err
}

// Page is one page of a list. Next, when not empty, is the cursor of the following page;
// a full page always has one, so the last page may be empty.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// items sends req to a list the server answers in a single page and returns the items.
func items[T any](ctx context.Context, c *Client, req request) ([]T, error) {
	p, err := call[Page[T]](ctx, c, req)
	return p.Items, err
}

// collect follows the pages of a list from the cursor after to the end.
func collect[T any](after string, list func(after string) (Page[T], error)) ([]T, error) {
	var all []T
	for {
		p, err := list(after)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, nil
		}
		after = p.Next
	}
}

// PageQuery selects a page of a keyed list: up to Limit items (0: the server's default of
// 100; at most 1000) after the cursor After.
type PageQuery struct {
	Limit int
	After string
}

func (q PageQuery) values() url.Values {
	v := url.Values{}
	set(v, "after", q.After)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// set adds a query parameter unless its value is empty, which the server reads as "any".
func set(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

// versionOf reads an ETag of the form "<version>".
func versionOf(h http.Header) (int64, error) {
	etag := h.Get("ETag")
	v, err := strconv.ParseInt(strings.Trim(etag, `"`), 10, 64)
	if err != nil || len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return 0, fmt.Errorf("apiclient: expected an ETag such as \"3\", got %q", etag)
	}
	return v, nil
}
