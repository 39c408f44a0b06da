// Package testenv holds helpers that tests of several packages share.
package testenv

import "testing"

// Result carries a call's value and error to OK.
type Result[T any] struct {
	v   T
	err error
}

// Must takes the results of a call, so that a test can use its value inline:
//
//	p := testenv.Must(c.GetProject(ctx, "shop")).OK(t)
func Must[T any](v T, err error) Result[T] { return Result[T]{v, err} }

// OK returns the value, or fails the test at once when the call returned an error.
func (r Result[T]) OK(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}
