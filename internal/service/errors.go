package service

import (
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

// ValidationError reports every invalid field of a change. It unwraps both to a *domain.Error
// (code invalid) describing the first problem, so domain.ErrorCode and the error envelope work
// unchanged, and to the full snapshot.ValidationError, which transports can list.
type ValidationError struct {
	Problems snapshot.ValidationError
}

func (e *ValidationError) Error() string { return e.Problems.Error() }

func (e *ValidationError) Unwrap() []error {
	first := e.Problems[0]
	return []error{&domain.Error{Code: domain.CodeInvalid, Field: first.Path, Message: first.Message}, e.Problems}
}

// invalid turns collected problems into a *ValidationError, or nil when there are none.
func invalid(p *snapshot.Problems) error {
	err := p.Err()
	if err == nil {
		return nil
	}
	return &ValidationError{Problems: err.(snapshot.ValidationError)}
}
