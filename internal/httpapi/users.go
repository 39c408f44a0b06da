package httpapi

import (
	"net/http"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// Dashboard users. Responses never carry password hashes (domain.User leaves them out).

// userUpdate changes a user's name, role, or both; an absent field stays as it is.
type userUpdate struct {
	Name *string      `json:"name,omitempty"`
	Role *domain.Role `json:"role,omitempty"`
}

// passwordBody sets a user's password. Through the API an admin token sets it, so the current
// password is not asked for.
type passwordBody struct {
	Password string `json:"password"`
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListUsers(r.Context())
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var in service.UserSpec
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := a.svc.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	created(w, r, u.ID, u)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.svc.GetUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in userUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := a.svc.UpdateUser(r.Context(), r.PathValue("user"), in.Name, in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteUser(r.Context(), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setPassword(w http.ResponseWriter, r *http.Request) error {
	var in passwordBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := a.svc.SetPassword(r.Context(), r.PathValue("user"), "", in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
