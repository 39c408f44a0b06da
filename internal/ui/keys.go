package ui

import (
	"net/http"
	"strings"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// SDK keys authenticate SDKs to one environment. Only admins manage them; a key's secret is
// shown once, on the page that answers its creation, and only its prefix afterwards.

type keysPage struct {
	Keys []domain.SDKKey
	Form domain.SDKKey
	fieldProblems
}

func (u *UI) sdkKeys(w http.ResponseWriter, r *http.Request) error {
	return u.showKeys(w, r, http.StatusOK, keysPage{Form: domain.SDKKey{Kind: domain.SDKKeyServer}})
}

func (u *UI) showKeys(w http.ResponseWriter, r *http.Request, status int, body keysPage) error {
	pd, err := u.projectPage(r, "keys", "SDK keys")
	if err != nil {
		return err
	}
	if pd.Env != "" {
		if body.Keys, err = u.svc.ListSDKKeys(r.Context(), pd.Project, pd.Env); err != nil {
			return err
		}
	}
	u.render(w, r, status, "keys", pd, body)
	return nil
}

type keyCreatedPage struct {
	Key    domain.SDKKey
	Secret string
	// Example is a command that uses the key: an OFREP evaluation, which both kinds may make.
	Example string
}

// createKey creates an SDK key and answers with the page that shows its secret, the only time
// it is shown.
func (u *UI) createKey(w http.ResponseWriter, r *http.Request) error {
	pd, err := u.projectPage(r, "keys", "SDK key created")
	if err != nil {
		return err
	}
	form := domain.SDKKey{Name: strings.TrimSpace(r.PostFormValue("name")), Kind: domain.SDKKeyKind(r.PostFormValue("kind"))}
	k, secret, err := u.svc.CreateSDKKey(r.Context(), pd.Project, pd.Env, form.Name, form.Kind)
	if err != nil {
		body := keysPage{Form: form}
		if !body.saveFailed(err, err.Error()) {
			return err
		}
		return u.showKeys(w, r, statusOf(err), body)
	}
	example := "curl -s -X POST -H 'X-API-Key: " + secret + "' -H 'Content-Type: application/json' " +
		`-d '{"context":{"targetingKey":"user-1"}}' ` + baseURL(r) + "/ofrep/v1/evaluate/flags"
	u.render(w, r, http.StatusCreated, "key-created", pd, keyCreatedPage{Key: k, Secret: secret, Example: example})
	return nil
}

// baseURL is the address the browser reached the dashboard at, for examples to copy.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (u *UI) deleteKey(w http.ResponseWriter, r *http.Request) error {
	pd, err := u.projectPage(r, "keys", "SDK keys")
	if err != nil {
		return err
	}
	if err := u.svc.DeleteSDKKey(r.Context(), pd.Project, pd.Env, r.PathValue("key")); err != nil {
		return err
	}
	redirect(w, r, pd.Href("/keys"), "SDK key deleted; SDKs using it are refused from now on")
	return nil
}
