package httpapi

import (
	"net/http"
	"time"

	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
)

// timeWindow is the body of a gate evaluation.
type timeWindow struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func (a *API) listGates(w http.ResponseWriter, r *http.Request) error {
	items, err := a.svc.ListGates(r.Context(), r.PathValue("project"), r.PathValue("env"))
	if err != nil {
		return err
	}
	writeList(w, items, "")
	return nil
}

func (a *API) createGate(w http.ResponseWriter, r *http.Request) error {
	var g domain.Gate
	if err := decodeJSON(r, &g); err != nil {
		return err
	}
	g.Project, g.Environment = r.PathValue("project"), r.PathValue("env")
	out, err := a.svc.CreateGate(r.Context(), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) getGate(w http.ResponseWriter, r *http.Request) error {
	out, err := a.svc.GetGate(r.Context(), r.PathValue("project"), r.PathValue("env"), r.PathValue("gate"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteGate(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteGate(r.Context(), r.PathValue("project"), r.PathValue("env"), r.PathValue("gate")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) evaluateGate(w http.ResponseWriter, r *http.Request) error {
	var in timeWindow
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := a.svc.EvaluateGate(r.Context(), r.PathValue("project"), r.PathValue("env"), r.PathValue("gate"), in.From, in.To, "api")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) postEvent(w http.ResponseWriter, r *http.Request) error {
	var ev service.Event
	if err := decodeJSON(r, &ev); err != nil {
		return err
	}
	out, err := a.svc.HandleEvent(r.Context(), ev)
	if err != nil {
		return err
	}
	writeList(w, out, "")
	return nil
}
