package ui

import (
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Dashboard users are the server's; only admins manage them. An admin sets a new user's
// password or has one generated, which is shown once, on the page that answers; so is a reset
// password. Anyone signed in with a password changes their own on the account page.

type usersPage struct {
	Users []domain.User
	// Me is the ID of the signed-in user, who cannot delete themselves; "" for a token.
	Me string
	// ListError says why a change from the list (a role, a password) failed.
	ListError string
	Form      service.UserSpec
	fieldProblems
}

func (u *UI) users(w http.ResponseWriter, r *http.Request) error {
	return u.showUsers(w, r, http.StatusOK, usersPage{Form: service.UserSpec{Role: domain.RoleViewer}})
}

func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, status int, body usersPage) error {
	users, err := u.svc.ListUsers(r.Context())
	if err != nil {
		return err
	}
	body.Users, body.Me = users, signedInUser(r)
	body.Form.Password = "" // never sent back
	u.render(w, r, status, "users", pageData{Title: "Users", Nav: "users"}, body)
	return nil
}

// signedInUser is the ID of the user the request's session is, or "" for a token's session.
func signedInUser(r *http.Request) string {
	if p, ok := auth.PrincipalFrom(r.Context()); ok && p.Kind == auth.KindUser {
		return p.ID
	}
	return ""
}

type passwordShownPage struct {
	User     domain.User
	Password string
	// Created tells a new user from a reset password.
	Created bool
}

// createUser creates a user with the password the admin typed, or a generated one, which the
// answering page shows.
func (u *UI) createUser(w http.ResponseWriter, r *http.Request) error {
	spec := service.UserSpec{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Role: domain.Role(r.PostFormValue("role")), Password: r.PostFormValue("password")}
	generated := spec.Password == ""
	if generated {
		spec.Password = rand.Text()
	}
	user, err := u.svc.CreateUser(r.Context(), spec)
	if err != nil {
		body := usersPage{Form: spec}
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showUsers(w, r, statusOf(err), body)
	}
	if !generated {
		redirect(w, r, "/users", "User "+user.Email+" created with the password you chose")
		return nil
	}
	u.render(w, r, http.StatusCreated, "password-shown", pageData{Title: "User created", Nav: "users"},
		passwordShownPage{User: user, Password: spec.Password, Created: true})
	return nil
}

func (u *UI) setRole(w http.ResponseWriter, r *http.Request) error {
	role := domain.Role(r.PostFormValue("role"))
	user, err := u.svc.UpdateUser(r.Context(), r.PathValue("user"), nil, &role)
	if err != nil {
		return u.listFailed(w, r, "Role not changed", err)
	}
	redirect(w, r, "/users", user.Email+" is now "+string(user.Role))
	return nil
}

// listFailed shows the users again with why a change from the list failed, when the admin can
// fix it.
func (u *UI) listFailed(w http.ResponseWriter, r *http.Request, what string, err error) error {
	if !isUserError(err) {
		return err
	}
	body := usersPage{Form: service.UserSpec{Role: domain.RoleViewer}, ListError: what + ": " + err.Error()}
	return u.showUsers(w, r, statusOf(err), body)
}

// resetPassword sets a user's password, typed by the admin or generated and shown once, and
// ends the user's sessions.
func (u *UI) resetPassword(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("user")
	if id == signedInUser(r) {
		return &httpError{status: http.StatusBadRequest, message: "Change your own password on your account page, with your current one."}
	}
	user, err := u.svc.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	password := r.PostFormValue("password")
	generated := password == ""
	if generated {
		password = rand.Text()
	}
	if err := u.svc.SetPassword(r.Context(), id, "", password); err != nil {
		return u.listFailed(w, r, "Password of "+user.Email+" not changed", err)
	}
	if !generated {
		redirect(w, r, "/users", "Password of "+user.Email+" changed; their sessions have ended")
		return nil
	}
	u.render(w, r, http.StatusOK, "password-shown", pageData{Title: "Password reset", Nav: "users"},
		passwordShownPage{User: user, Password: password})
	return nil
}

func (u *UI) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("user")
	if id == signedInUser(r) {
		return &httpError{status: http.StatusBadRequest, message: "You cannot delete yourself: another admin can."}
	}
	user, err := u.svc.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	if err := u.svc.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	redirect(w, r, "/users", "User "+user.Email+" deleted; their sessions have ended")
	return nil
}

type accountPage struct {
	// User is the signed-in user; zero for a session of an admin token, which has no password.
	User domain.User
	fieldProblems
}

func (u *UI) account(w http.ResponseWriter, r *http.Request) error {
	return u.showAccount(w, r, http.StatusOK, accountPage{})
}

func (u *UI) showAccount(w http.ResponseWriter, r *http.Request, status int, body accountPage) error {
	if id := signedInUser(r); id != "" {
		user, err := u.svc.GetUser(r.Context(), id)
		if err != nil {
			return err
		}
		body.User = user
	}
	u.render(w, r, status, "account", pageData{Title: "Your account", Nav: "account"}, body)
	return nil
}

// changePassword changes the signed-in user's password, given the current one; this session
// stays and the user's others end.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request) error {
	id := signedInUser(r)
	if id == "" {
		return &httpError{status: http.StatusBadRequest, message: "This session signed in with an admin token, which has no password to change."}
	}
	var body accountPage
	password := r.PostFormValue("password")
	err := error(domain.FieldErrorf("confirm", "does not match the new password"))
	if password == r.PostFormValue("confirm") {
		err = u.svc.SetPassword(r.Context(), id, r.PostFormValue("current"), password)
	}
	if err != nil {
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showAccount(w, r, statusOf(err), body)
	}
	redirect(w, r, "/account", "Password changed; your other sessions have ended")
	return nil
}
