package apiclient_test

import (
	"context"
	"testing"

	"github.com/flagpilot/flagpilot/internal/apiclient"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := s.admin
	ada := testenv.Must(c.CreateUser(ctx, service.UserSpec{Email: "ada@example.com", Name: "Ada", Role: domain.RoleViewer, Password: "0123456789"})).OK(t)
	if ada.ID == "" || ada.Email != "ada@example.com" || ada.Role != domain.RoleViewer || len(ada.PasswordHash) != 0 {
		t.Errorf("created %+v", ada)
	}
	_, err := c.CreateUser(ctx, service.UserSpec{Email: "ADA@example.com", Role: domain.RoleViewer, Password: "0123456789"})
	if e := apiError(t, err); !apiclient.IsConflict(err) || e.Field != "email" {
		t.Errorf("a second ada: %v", err)
	}
	_, err = c.CreateUser(ctx, service.UserSpec{Email: "bob@example.com", Role: domain.RoleViewer, Password: "short"})
	if e := apiError(t, err); !apiclient.IsInvalid(err) || e.Field != "password" {
		t.Errorf("a short password: %v", err)
	}

	if got := testenv.Must(c.GetUser(ctx, ada.ID)).OK(t); got.Name != "Ada" {
		t.Errorf("got %+v", got)
	}
	role := domain.RoleEditor
	if got := testenv.Must(c.UpdateUser(ctx, ada.ID, nil, &role)).OK(t); got.Role != domain.RoleEditor || got.Name != "Ada" {
		t.Errorf("after the role change %+v", got)
	}
	name := "Ada Lovelace"
	if got := testenv.Must(c.UpdateUser(ctx, ada.ID, &name, nil)).OK(t); got.Role != domain.RoleEditor || got.Name != name {
		t.Errorf("after the name change %+v", got)
	}
	if err := c.SetPassword(ctx, ada.ID, "9876543210"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, ada.ID, "short"); !apiclient.IsInvalid(err) {
		t.Errorf("a short password: %v", err)
	}
	if users := testenv.Must(c.ListUsers(ctx)).OK(t); len(users) != 1 || users[0].ID != ada.ID {
		t.Errorf("users %+v", users)
	}

	viewer := testenv.Must(c.CreateToken(ctx, "reader", domain.RoleViewer)).OK(t)
	if _, err := newClient(t, s.url, viewer.Secret).ListUsers(ctx); !apiclient.IsForbidden(err) {
		t.Errorf("a viewer listing users: %v", err)
	}
	if err := c.DeleteUser(ctx, ada.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, ada.ID); !apiclient.IsNotFound(err) {
		t.Errorf("after DeleteUser: %v", err)
	}
}
