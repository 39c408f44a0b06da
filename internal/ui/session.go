package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flagpilot/flagpilot/internal/auth"
	"github.com/flagpilot/flagpilot/internal/domain"
)

const (
	// sessionCookie holds the session secret; loginCookie holds the nonce that ties a sign-in
	// form to the browser that loaded it (login CSRF).
	sessionCookie = "flagpilot_session"
	loginCookie   = "flagpilot_login"

	// Failed sign-ins allowed per client address and per e-mail within loginWindow.
	loginAttemptsPerAddr  = 20
	loginAttemptsPerEmail = 5
	loginWindow           = 15 * time.Minute
)

// sessionKey carries the session secret of a request, from which its CSRF token derives.
type sessionKey struct{}

func contextWithSession(ctx context.Context, secret string) context.Context {
	return context.WithValue(ctx, sessionKey{}, secret)
}

func sessionFrom(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey{}).(string)
	return s
}

// authenticate puts the principal of the request's session into its context. Without a live
// session it sends pages to the sign-in form and answers form posts with 401.
func (u *UI) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p, _, err := u.svc.Session(r.Context(), c.Value)
		if err == nil {
			ctx := auth.WithPrincipal(r.Context(), p)
			ctx = contextWithSession(ctx, c.Value)
			return r.WithContext(ctx), true
		}
		if domain.ErrorCode(err) != domain.CodeUnauthorized {
			u.fail(w, r, err)
			return nil, false
		}
		clearCookie(w, sessionCookie)
	}
	if r.Method != http.MethodGet {
		u.fail(w, r, &httpError{status: http.StatusUnauthorized, message: "Your session has ended. Sign in again, then repeat the change."})
		return nil, false
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	return nil, false
}

// checkCSRF accepts a form post that carries the CSRF token of its session and, when the browser
// says where it comes from, comes from this server.
func (u *UI) checkCSRF(r *http.Request) bool {
	secret := sessionFrom(r.Context())
	return secret != "" && sameOrigin(r) && auth.CheckCSRF(secret, r.PostFormValue("csrf"))
}

// sameOrigin reports whether a post's Origin (sent by every current browser on a form post)
// is this server. Requests without one are not from a browser and carry the token anyway.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	return err == nil && o.Host == r.Host
}

type loginPage struct {
	Next, Email, Nonce, Error string
	// Insecure is set when the page is reached over plain HTTP on a host other than this
	// machine: browsers then refuse the session cookie, so signing in cannot work.
	Insecure bool
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) error {
	return u.showLogin(w, r, http.StatusOK, loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the sign-in form with a fresh nonce, also set as a cookie.
func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, lp loginPage) error {
	lp.Nonce = rand.Text()
	lp.Insecure = !secureTransport(r)
	setCookie(w, loginCookie, lp.Nonce, 0)
	u.render(w, r, status, "login", pageData{Title: "Sign in"}, lp)
	return nil
}

// login signs a person in with an e-mail and password, or with an admin API token (how the
// first admin gets in), and starts a session.
func (u *UI) login(w http.ResponseWriter, r *http.Request) error {
	lp := loginPage{Next: safeNext(r.PostFormValue("next")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if c, err := r.Cookie(loginCookie); err != nil || !sameOrigin(r) ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("nonce"))) != 1 {
		lp.Error = "This sign-in form has expired. Please try again."
		return u.showLogin(w, r, http.StatusForbidden, lp)
	}
	addr := "addr:" + clientAddr(r)
	email := "email:" + strings.ToLower(lp.Email)
	if !u.byAddr.Allow(addr) || (lp.Email != "" && !u.byEmail.Allow(email)) {
		lp.Error = "Too many failed sign-in attempts. Wait a few minutes, then try again."
		return u.showLogin(w, r, http.StatusTooManyRequests, lp)
	}
	var (
		secret string
		err    error
	)
	if token := strings.TrimSpace(r.PostFormValue("token")); token != "" {
		_, secret, err = u.svc.LoginWithToken(r.Context(), token)
	} else {
		_, secret, err = u.svc.Login(r.Context(), lp.Email, r.PostFormValue("password"))
	}
	if err != nil {
		if domain.ErrorCode(err) != domain.CodeUnauthorized {
			return err
		}
		u.byAddr.Fail(addr)
		if lp.Email != "" {
			u.byEmail.Fail(email)
		}
		lp.Error = "The e-mail and password, or the token, are not right."
		return u.showLogin(w, r, http.StatusUnauthorized, lp)
	}
	u.byEmail.Reset(email)
	clearCookie(w, loginCookie)
	setCookie(w, sessionCookie, secret, 0)
	next := lp.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) error {
	if err := u.svc.Logout(r.Context(), sessionFrom(r.Context())); err != nil && domain.ErrorCode(err) != domain.CodeUnauthorized {
		return err
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in destination only when it is a path on this server, so the
// sign-in form cannot be used to send people elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

// setCookie sets an HttpOnly, Secure, SameSite=Lax cookie for the whole dashboard: Lax, not
// Strict, so that a link to the dashboard from chat or e-mail opens it signed in; form posts
// from other sites carry no cookie, and every form carries a CSRF token besides. A zero maxAge
// makes it a browser-session cookie: the server ends sessions on its own clock.
func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

func clearCookie(w http.ResponseWriter, name string) {
	setCookie(w, name, "", -1)
}

// secureTransport reports whether the browser will keep a Secure cookie from this request:
// it came over TLS (here or at a proxy in front), or to this machine, which browsers trust.
func secureTransport(r *http.Request) bool {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientAddr is the address sign-in attempts are counted against: the connection's peer.
// Forwarded headers are not trusted, since anyone can send them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
