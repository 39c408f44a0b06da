package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

func usersCommands() []command {
	return []command{
		{"list", "list the dashboard users (never their passwords)", runUsersList},
		{"create", "create a dashboard user; without a password file, print a generated password once", runUsersCreate},
		{"delete", "delete a dashboard user and end its sessions", runUsersDelete},
		{"passwd", "set a dashboard user's password and end its sessions", runUsersPasswd},
	}
}

var userColumns = []column[domain.User]{
	{"ID", func(u domain.User) string { return u.ID }},
	{"EMAIL", func(u domain.User) string { return u.Email }},
	{"NAME", func(u domain.User) string { return u.Name }},
	{"ROLE", func(u domain.User) string { return string(u.Role) }},
	{"LAST LOGIN", func(u domain.User) string {
		if u.LastLoginAt.IsZero() {
			return "never"
		}
		return timestamp(u.LastLoginAt)
	}},
	{"CREATED", func(u domain.User) string { return timestamp(u.CreatedAt) }},
}

// passwordOption registers --password-file.
func passwordOption(c *clientCmd) *string {
	return c.fs.String("password-file", "", "read the password from this file, or from standard input with -; without it, a random password is generated and printed once")
}

// maxPasswordFile bounds what is read for a password: far more than the longest password
// bcrypt takes, so that the server, not a cut, refuses a wrong file.
const maxPasswordFile = 4096

// readPassword returns the password of --password-file without its line ending, or, when the
// option is empty, a new random one (generated reports which).
func readPassword(file string) (password string, generated bool, err error) {
	var r io.Reader
	switch file {
	case "":
		return rand.Text(), true, nil
	case "-":
		r = os.Stdin
	default:
		f, err := os.Open(file)
		if err != nil {
			return "", false, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPasswordFile))
	if err != nil {
		return "", false, err
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), false, nil
}

// showPassword prints a generated password, the only time anyone sees it.
func showPassword(w io.Writer, email, password string) {
	fmt.Fprintf(w, "\nThe password of %s is shown only this once; hand it over now:\n\n    %s\n\n", email, password)
}

// findUser resolves a user given by id or by e-mail address.
func (c *clientCmd) findUser(ctx context.Context, idOrEmail string) (domain.User, error) {
	if !strings.Contains(idOrEmail, "@") {
		return c.client.GetUser(ctx, idOrEmail)
	}
	users, err := c.client.ListUsers(ctx)
	if err != nil {
		return domain.User{}, err
	}
	for _, u := range users {
		if strings.EqualFold(u.Email, idOrEmail) {
			return u, nil
		}
	}
	return domain.User{}, fmt.Errorf("no user has the e-mail address %s", idOrEmail)
}

func runUsersList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("users list", "[--json]", stdout, stderr)
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	users, err := c.client.ListUsers(ctx)
	return c.finish(apiclient.Page[domain.User]{Items: users}, err, func(w io.Writer) {
		printTable(w, users, userColumns...)
	})
}

// createdUser is what `users create --json` prints: the user, and its password when it was
// generated.
type createdUser struct {
	domain.User
	Password string `json:"password,omitempty"`
}

func runUsersCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("users create", "--email E [--name N] [--role viewer|editor|admin] [--password-file F|-] [--json]", stdout, stderr)
	email := c.fs.String("email", "", "the address the user signs in with")
	name := c.fs.String("name", "", "the user's name, as the dashboard shows it")
	role := c.fs.String("role", string(domain.RoleViewer), "viewer, editor or admin")
	passwordFile := passwordOption(c)
	c.withComment()
	c.withJSON()
	if _, ok := c.parse(args, 0, 0); !ok {
		return exitUsage
	}
	password, generated, err := readPassword(*passwordFile)
	if err != nil {
		return c.fail(fmt.Errorf("--password-file: %w", err))
	}
	u, err := c.client.CreateUser(c.ctx(ctx), service.UserSpec{Email: *email, Name: *name, Role: domain.Role(*role), Password: password})
	out := createdUser{User: u}
	if generated {
		out.Password = password
	}
	return c.finish(out, err, func(w io.Writer) {
		printTable(w, []domain.User{u}, userColumns...)
		if generated {
			showPassword(w, u.Email, password)
		}
	})
}

func runUsersDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("users delete", "ID|EMAIL [--comment TEXT]", stdout, stderr)
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	u, err := c.findUser(ctx, pos[0])
	if err == nil {
		err = c.client.DeleteUser(c.ctx(ctx), u.ID)
	}
	return c.finish(nil, err, func(w io.Writer) { fmt.Fprintf(w, "deleted user %s (%s)\n", u.Email, u.ID) })
}

func runUsersPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newClientCmd("users passwd", "ID|EMAIL [--password-file F|-] [--comment TEXT]", stdout, stderr)
	passwordFile := passwordOption(c)
	c.withComment()
	pos, ok := c.parse(args, 1, 1)
	if !ok {
		return exitUsage
	}
	password, generated, err := readPassword(*passwordFile)
	if err != nil {
		return c.fail(fmt.Errorf("--password-file: %w", err))
	}
	u, err := c.findUser(ctx, pos[0])
	if err == nil {
		err = c.client.SetPassword(c.ctx(ctx), u.ID, password)
	}
	return c.finish(nil, err, func(w io.Writer) {
		fmt.Fprintf(w, "set the password of %s; its sessions have ended\n", u.Email)
		if generated {
			showPassword(w, u.Email, password)
		}
	})
}
