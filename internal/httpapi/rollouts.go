package httpapi

import (
	"net/http"

	"github.com/flagpilot/flagpilot/internal/service"
)

const rolloutDecisionsShown = 100

func (a *API) getRollout(w http.ResponseWriter, r *http.Request) error {
	project, flag, env := r.PathValue("project"), r.PathValue("flag"), r.PathValue("env")
	ro, err := a.svc.GetRollout(r.Context(), project, flag, env)
	if err != nil {
		return err
	}
	ds, err := a.svc.ListRolloutDecisions(r.Context(), project, flag, env, rolloutDecisionsShown)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, service.RolloutView{Rollout: ro, Decisions: ds})
	return nil
}

func (a *API) startRollout(w http.ResponseWriter, r *http.Request) error {
	var spec service.RolloutSpec
	if err := decodeJSON(r, &spec); err != nil {
		return err
	}
	ro, err := a.svc.StartRollout(r.Context(), r.PathValue("project"), r.PathValue("flag"), r.PathValue("env"), spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ro)
	return nil
}

func controlRollout(action service.RolloutAction) func(a *API, w http.ResponseWriter, r *http.Request) error {
	return func(a *API, w http.ResponseWriter, r *http.Request) error {
		ro, err := a.svc.ControlRollout(r.Context(), r.PathValue("project"), r.PathValue("flag"), r.PathValue("env"), action)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ro)
		return nil
	}
}
