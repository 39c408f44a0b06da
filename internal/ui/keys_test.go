package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/testenv"
)

func TestSDKKeySecretIsShownOnce(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.signedInAdmin(t)
	b.get("/p/shop/keys?env=staging")
	p := b.post("/p/shop/keys", url.Values{"csrf": {b.csrf()}, "env": {"staging"}, "name": {"checkout-service"}, "kind": {"client"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	secret := shownSecret(t, p)
	if !strings.HasPrefix(secret, "fpc_") {
		t.Fatalf("a client key %q", secret)
	}
	mustContain(t, p, "curl -s -X POST -H &#39;X-API-Key: "+secret+"&#39;", d.srv.URL+"/ofrep/v1/evaluate/flags")
	keys := testenv.Must(d.svc.ListSDKKeys(context.Background(), "shop", "staging")).OK(t)
	if len(keys) != 1 || !bytes.Equal(keys[0].Hash, auth.Hash(secret)) || keys[0].Kind != domain.SDKKeyClient || keys[0].Name != "checkout-service" {
		t.Fatalf("stored %+v", keys)
	}
	k := keys[0]

	for _, path := range []string{"/p/shop/keys?env=staging", "/p/shop/audit?env=staging", "/audit"} {
		p := b.get(path)
		if p.status != http.StatusOK || strings.Contains(p.body, secret) {
			t.Errorf("%s: %d, shows the secret: %v", path, p.status, strings.Contains(p.body, secret))
		}
	}
	list := b.get("/p/shop/keys?env=staging")
	row := between(t, list.body, `id="key-`+k.ID+`"`, "</tr>")
	if !strings.Contains(row, "<code>"+k.Prefix+"…</code>") || !strings.Contains(row, "checkout-service") {
		t.Errorf("the key's row:\n%s", row)
	}
	if p := b.get("/p/shop/keys?env=production"); strings.Contains(p.body, k.ID) {
		t.Error("production lists staging's key")
	}

	p = b.post("/p/shop/keys/"+k.ID+"/delete", url.Values{"csrf": {b.csrf()}, "env": {"staging"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/p/shop/keys?env=staging") {
		t.Fatalf("delete: %d to %q", p.status, p.location)
	}
	if keys := testenv.Must(d.svc.ListSDKKeys(context.Background(), "shop", "staging")).OK(t); len(keys) != 0 {
		t.Errorf("after deleting: %+v", keys)
	}
}

func TestSDKKeyFormErrors(t *testing.T) {
	d := newDashboard(t)
	d.shop(t)
	b := d.signedInAdmin(t)
	b.get("/p/shop/keys?env=production")
	p := b.post("/p/shop/keys", url.Values{"csrf": {b.csrf()}, "env": {"production"}, "name": {strings.Repeat("n", 201)}, "kind": {"browser"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("an invalid key: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `id="k-name-error" role="alert">longer than 200 characters</span>`, `id="k-kind-error" role="alert">unknown kind &#34;browser&#34;`)
	if strings.Contains(p.body, `class="secret"`) {
		t.Error("a refused key shows a secret")
	}
	if keys := testenv.Must(d.svc.ListSDKKeys(context.Background(), "shop", "production")).OK(t); len(keys) != 0 {
		t.Errorf("an invalid key was stored: %+v", keys)
	}
	if p := b.post("/p/shop/keys/nope/delete", url.Values{"csrf": {b.csrf()}, "env": {"production"}}); p.status != http.StatusNotFound {
		t.Errorf("deleting a key that does not exist: %d, want 404", p.status)
	}
}
