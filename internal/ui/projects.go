package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// projectPage returns the layout data of a page about the project in the request's path: the
// project and environment switchers' lists and the selected environment (?env=, else
// production, else the first).
func (u *UI) projectPage(r *http.Request, nav, title string) (pageData, error) {
	ctx := r.Context()
	project := r.PathValue("project")
	if _, err := u.svc.GetProject(ctx, project); err != nil {
		return pageData{}, err
	}
	projects, err := u.svc.ListProjects(ctx, domain.Page{Limit: domain.MaxPageLimit})
	if err != nil {
		return pageData{}, err
	}
	envs, err := u.svc.ListEnvironments(ctx, project)
	if err != nil {
		return pageData{}, err
	}
	pd := pageData{Title: title, Nav: nav, Projects: projects, Project: project, Envs: envs}
	pd.Env = r.URL.Query().Get("env")
	if r.Method == http.MethodPost && r.PostFormValue("env") != "" {
		pd.Env = r.PostFormValue("env")
	}
	if pd.Env != "" && !slices.ContainsFunc(envs, func(e domain.Environment) bool { return e.Key == pd.Env }) {
		return pageData{}, domain.NotFound("environment", pd.Env)
	}
	if pd.Env == "" && len(envs) > 0 {
		pd.Env = envs[0].Key
		for _, e := range envs {
			if e.Key == "production" {
				pd.Env = e.Key
			}
		}
	}
	return pd, nil
}

// envPage is projectPage for a page about one environment, which the project must have.
func (u *UI) envPage(r *http.Request, nav, title string) (pageData, error) {
	pd, err := u.projectPage(r, nav, title)
	if err == nil && pd.Env == "" {
		err = domain.FieldErrorf("env", "the project has no environment yet")
	}
	return pd, err
}

// flagContext is envPage for a page about the flag in the request's path, titled
// "<what> of <flag> in <environment>".
func (u *UI) flagContext(r *http.Request, nav, what string) (pageData, domain.Flag, error) {
	pd, err := u.envPage(r, nav, what)
	if err != nil {
		return pd, domain.Flag{}, err
	}
	f, err := u.svc.GetFlag(r.Context(), pd.Project, r.PathValue("flag"))
	pd.Title = what + " of " + f.Key + " in " + pd.Env
	return pd, f, err
}

// home sends people to the flags of the first project, or to the project list when there is
// none yet.
func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	projects, err := u.svc.ListProjects(r.Context(), domain.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(projects) == 0 {
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/p/"+url.PathEscape(projects[0].Key)+"/flags", http.StatusSeeOther)
	return nil
}

// projectHome sends a project's root to its flags.
func (u *UI) projectHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/p/"+url.PathEscape(r.PathValue("project"))+"/flags", http.StatusSeeOther)
	return nil
}

type projectsPage struct {
	Form  domain.Project
	Error string
}

func (u *UI) projects(w http.ResponseWriter, r *http.Request) error {
	return u.showProjects(w, r, http.StatusOK, projectsPage{})
}

func (u *UI) showProjects(w http.ResponseWriter, r *http.Request, status int, body projectsPage) error {
	projects, err := u.svc.ListProjects(r.Context(), domain.Page{Limit: domain.MaxPageLimit})
	if err != nil {
		return err
	}
	u.render(w, r, status, "projects", pageData{Title: "Projects", Nav: "projects", Projects: projects}, body)
	return nil
}

// createProject creates a project with a production environment, so that it is usable at once.
func (u *UI) createProject(w http.ResponseWriter, r *http.Request) error {
	p := domain.Project{Key: strings.TrimSpace(r.PostFormValue("key")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description"))}
	if _, err := u.svc.CreateProject(r.Context(), p); err != nil {
		if !isUserError(err) {
			return err
		}
		return u.showProjects(w, r, statusOf(err), projectsPage{Form: p, Error: err.Error()})
	}
	if env := strings.TrimSpace(r.PostFormValue("environment")); env != "" {
		if _, err := u.svc.CreateEnvironment(r.Context(), domain.Environment{Project: p.Key, Key: env}); err != nil {
			return err
		}
	}
	redirect(w, r, "/p/"+url.PathEscape(p.Key)+"/flags", "Project "+p.Key+" created")
	return nil
}

type environmentsPage struct {
	Form  domain.Environment
	Error string
}

func (u *UI) environments(w http.ResponseWriter, r *http.Request) error {
	return u.showEnvironments(w, r, http.StatusOK, environmentsPage{})
}

func (u *UI) showEnvironments(w http.ResponseWriter, r *http.Request, status int, body environmentsPage) error {
	pd, err := u.projectPage(r, "environments", "Environments")
	if err != nil {
		return err
	}
	u.render(w, r, status, "environments", pd, body)
	return nil
}

func (u *UI) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	e := domain.Environment{Project: r.PathValue("project"), Key: strings.TrimSpace(r.PostFormValue("key")),
		Name: strings.TrimSpace(r.PostFormValue("name"))}
	if _, err := u.svc.CreateEnvironment(r.Context(), e); err != nil {
		if !isUserError(err) {
			return err
		}
		return u.showEnvironments(w, r, statusOf(err), environmentsPage{Form: e, Error: err.Error()})
	}
	redirect(w, r, "/p/"+url.PathEscape(e.Project)+"/environments", "Environment "+e.Key+" created")
	return nil
}

// isUserError reports whether err is something the person can fix in the form they sent
// (invalid input, a conflict, a missing reference), so the form is shown again with it.
func isUserError(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.CodeInvalid, domain.CodeConflict, domain.CodeNotFound:
		return true
	}
	return false
}
