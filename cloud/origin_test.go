package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// elsewhere is a server on another port of the same host that counts the
// requests that reach it carrying credentials.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var hits, withAuth atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		fmt.Fprint(w, `{"results":[],"_links":{}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits, &withAuth
}

// A next link or a download link that leads to another origin is refused,
// naming it, and nothing is sent there. (Before the fix the client resolved
// them and sent its Authorization header along.)
func TestLinksToOtherOriginsAreRefused(t *testing.T) {
	other, hits, _ := elsewhere(t)
	c, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"results":[{"id":"1"}],"_links":{"next":"%s/wiki/api/v2/spaces?cursor=x"}}`, other.URL)
	}))
	err := c.List(ctx, "/wiki/api/v2/spaces", nil, func(json.RawMessage) error { return nil })
	if !errors.Is(err, errOtherOrigin) || !strings.Contains(err.Error(), other.URL) {
		t.Errorf("a next link to %s: %v, want a refusal naming it", other.URL, err)
	}
	if _, err := c.Download(ctx, other.URL+"/download/attachments/1/a.png"); !errors.Is(err, errOtherOrigin) {
		t.Errorf("a download link to another origin: %v, want a refusal", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the other origin", n)
	}
}

// A redirect to another port of the same host (or another host) is
// followed without credentials; one to the same origin keeps them; one
// from https down to http is refused.
func TestRedirectsElsewhereCarryNoCredentials(t *testing.T) {
	other, hits, withAuth := elsewhere(t)
	var sameWithAuth atomic.Int32
	c, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wiki/away":
			http.Redirect(w, r, other.URL+"/bytes", http.StatusFound)
		case "/wiki/here":
			http.Redirect(w, r, "/wiki/bytes", http.StatusFound)
		case "/wiki/bytes":
			if r.Header.Get("Authorization") != "" {
				sameWithAuth.Add(1)
			}
			io.WriteString(w, "{}")
		}
	}))
	for _, p := range []string{"/wiki/away", "/wiki/here"} {
		body, err := c.Download(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		body.Close()
	}
	if hits.Load() != 1 || withAuth.Load() != 0 {
		t.Errorf("the other port got %d requests, %d with credentials; want 1 without", hits.Load(), withAuth.Load())
	}
	if sameWithAuth.Load() != 1 {
		t.Errorf("a redirect within the origin lost its credentials")
	}

	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/bytes", http.StatusFound)
	}))
	defer tls.Close()
	sc, err := New(tls.URL, Credentials{Bearer: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	sc.SetTransport(tls.Client().Transport)
	sc.http.CheckRedirect = sc.checkRedirect // SetTransport keeps it; the test client is new
	if _, err := sc.Download(ctx, "/wiki/x"); err == nil || !strings.Contains(err.Error(), "redirect refused: from https to") {
		t.Errorf("a redirect from https to http: %v, want a refusal", err)
	}
}

// Plain http is refused but for loopback addresses, and a URL with a
// password in it is refused without printing the password.
func TestSiteURLsThatLeakCredentials(t *testing.T) {
	for _, c := range []struct {
		url  string
		want string // "" when accepted
	}{
		{"https://acme.atlassian.net", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://localhost:8080", ""},
		{"http://[::1]:8080", ""},
		{"http://acme.atlassian.net", "in clear"},
		{"http://10.0.0.5:8080", "in clear"},
		{"https://me:PASSWORD@acme.atlassian.net", "user name or password"},
		{"http://me:PASSWORD@127.0.0.1:8080", "user name or password"},
		{"https://me:PASS%zzWORD@acme.atlassian.net", "not a site URL"},
	} {
		_, err := New(c.url, Credentials{Bearer: "t"})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error saying %q", c.url, err, c.want)
		case err != nil && strings.Contains(err.Error(), "PASS"):
			t.Errorf("%s: the error shows the password: %v", c.url, err)
		}
	}
}

// A site nothing answers at fails at once, saying so, rather than after
// a minute of retries; a site that answered before and then refuses is
// retried (it may be restarting).
func TestUnreachableSitesFailFast(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") }))
	addr := srv.URL
	srv.Close() // nothing listens there now
	c, err := New(addr, Credentials{Bearer: "t"})
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	c.Sleep = func(context.Context, time.Duration) error { waits++; return nil }
	err = c.Get(ctx, "/wiki/api/v2/spaces", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing answers at") || waits != 0 {
		t.Errorf("a closed port: %v after %d waits; want a fast refusal", err, waits)
	}
	c2, _ := New("https://no-such-host.invalid", Credentials{Bearer: "t"})
	c2.Sleep = c.Sleep
	if err := c2.Get(ctx, "/wiki/api/v2/spaces", nil, nil); err == nil || !strings.Contains(err.Error(), "no such host") || waits != 0 {
		t.Errorf("an unknown host: %v after %d waits", err, waits)
	}
	c.reached.Store(true) // it answered once: refusals are now retried
	c.Retries = 2
	if err := c.Get(ctx, "/wiki/api/v2/spaces", nil, nil); err == nil || waits != 2 {
		t.Errorf("a site that answered before: %v after %d waits, want 2 retries", err, waits)
	}
}

// A bearer token (scoped API token, OAuth) on an *.atlassian.net site goes
// through Atlassian's gateway, under /ex/confluence/{cloudId}, found at
// the site's /_edge/tenant_info; a basic token goes to the site itself.
// (Before the fix every path was resolved against the host, dropping the
// gateway's prefix: https://api.atlassian.com/wiki/api/v2/spaces.)
func TestBearerTokensGoThroughTheGateway(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path == "/_edge/tenant_info" {
			fmt.Fprint(w, `{"cloudId":"0a1b2c3d-cloud"}`)
			return
		}
		fmt.Fprint(w, `{"results":[],"_links":{}}`)
	}))
	defer srv.Close()
	defer func(o string, f func(*url.URL) string) { GatewayOrigin, tenantInfoURL = o, f }(GatewayOrigin, tenantInfoURL)
	GatewayOrigin = srv.URL
	tenantInfoURL = func(*url.URL) string { return srv.URL + "/_edge/tenant_info" }
	c, err := Connect(ctx, "https://acme.atlassian.net", Credentials{Bearer: "scoped"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, "/wiki/api/v2/spaces", nil, func(json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if want := "/ex/confluence/0a1b2c3d-cloud/wiki/api/v2/spaces"; paths[len(paths)-1] != want {
		t.Errorf("asked %v, want %s last", paths, want)
	}
	if c.Site() != "https://acme.atlassian.net" || c.SiteID() != "cloud:acme.atlassian.net" {
		t.Errorf("site %s, id %s: the archive must name the site, not the gateway", c.Site(), c.SiteID())
	}
	basic, err := Connect(ctx, "https://acme.atlassian.net", Credentials{Email: "a@b.c", APIToken: "classic"})
	if err != nil || basic.Base() != "https://acme.atlassian.net" {
		t.Errorf("a classic token: %v, %s", err, basic.Base())
	}
	// A gateway URL given as it is: v1 next links, relative to the site's
	// /wiki, stay under its prefix.
	g, _ := New(srv.URL+"/ex/confluence/x", Credentials{Bearer: "t"})
	for next, want := range map[string]string{
		"/rest/api/group?next=true&limit=200&start=200": "/ex/confluence/x/wiki/rest/api/group",
		"/wiki/api/v2/pages?cursor=abc":                 "/ex/confluence/x/wiki/api/v2/pages",
	} {
		u, err := g.nextURL(next)
		if err != nil || u.Path != want {
			t.Errorf("next %s: %v %v, want %s", next, u, err, want)
		}
	}
	if g.SiteID() != "cloud-id:x" {
		t.Errorf("a gateway URL's site id %s", g.SiteID())
	}
}

// Rate limits as Atlassian sends them: X-RateLimit-Reset at minute
// precision is read; a wait is announced with its reason; and a 429 holds
// back its own endpoint (method and path, ids folded), not the others.
// (Before the fix the minute-precision reset did not parse, so pacing
// never started on a real site, and waits were capped at a minute.)
func TestRateLimitsPerEndpoint(t *testing.T) {
	if got, ok := parseReset("2026-12-01T10:31Z"); !ok || !got.Equal(time.Date(2026, 12, 1, 10, 31, 0, 0, time.UTC)) {
		t.Errorf("minute precision: %v %v", got, ok)
	}
	if _, ok := parseReset("2026-12-01T10:31:05.123Z"); !ok {
		t.Error("RFC 3339 with seconds")
	}
	var limited atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/pages/") && limited.Add(1) == 1 {
			w.Header().Set("Retry-After", "250")
			w.Header().Set("X-RateLimit-Reset", time.Now().Add(250*time.Second).UTC().Format("2006-01-02T15:04Z"))
			w.Header().Set("RateLimit-Reason", "confluence-burst-based")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "{}")
	}))
	defer srv.Close()
	c, _ := New(srv.URL, Credentials{Bearer: "t"})
	var announced []string
	c.OnWait = func(d time.Duration, why string) {
		announced = append(announced, fmt.Sprintf("%s %s", d.Round(time.Second), why))
	}
	var slept []time.Duration
	clock := time.Now()
	c.clock = func() time.Time { return clock }
	c.Sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock = clock.Add(d)
		return nil
	}
	if err := c.Get(ctx, "/wiki/api/v2/pages/123", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(announced) != 1 || !strings.Contains(announced[0], "4m10s") || !strings.Contains(announced[0], "RateLimit-Reason: confluence-burst-based") {
		t.Errorf("announced %q", announced)
	}
	// The pages endpoint is held; another endpoint is not.
	slept = nil
	if err := c.Get(ctx, "/wiki/api/v2/spaces/9", nil, nil); err != nil || len(slept) != 0 {
		t.Errorf("another endpoint waited %v (%v)", slept, err)
	}
	clock = clock.Add(-240 * time.Second) // back to 10 s after the 429: the hold has 240 s to go
	if err := c.Get(ctx, "/wiki/api/v2/pages/456", nil, nil); err != nil || len(slept) == 0 || slept[0] < 4*time.Minute {
		t.Errorf("the held endpoint waited %v (%v), want the rest of 250s", slept, err)
	}
	if c.Waited() < 250*time.Second {
		t.Errorf("waited %s in all", c.Waited())
	}
}

// A 429's X-RateLimit-Reset is at minute precision, rounded up: the wait
// is its Retry-After, not until the next minute (an export that held on
// the reset spent most of its time idle).
func TestShortRetryAfterIsNotRoundedToTheMinute(t *testing.T) {
	var calls atomic.Int32
	c, waits := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Limit", "100")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04Z"))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "{}")
	}))
	for i := 0; i < 3; i++ {
		if err := c.Get(ctx, "/wiki/api/v2/pages/1", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var total time.Duration
	for _, d := range *waits {
		total += d
	}
	if total > 2*time.Second {
		t.Errorf("waited %v in all after a 429 asking for 1 s", *waits)
	}
}
