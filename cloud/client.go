// Package cloud talks to Confluence Cloud over its REST API: credentials
// from the environment or a file, cursor pagination, and requests that
// survive rate limits and faults. It knows Confluence's HTTP conventions,
// not ferry's archives.
package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client sends requests to one Confluence site.
type Client struct {
	base   *url.URL // https://NAME.atlassian.net, or a gateway URL for it
	site   string   // the site's URL as given
	siteID string
	creds  Credentials
	http   *http.Client
	// Retries is how many times a request is retried after a 429, a 5xx
	// or a network error. MaxWait is the longest wait the client sits
	// through: Retry-After is honoured in full up to it, and past it the
	// request fails, saying so.
	Retries int
	MaxWait time.Duration
	// Sleep waits; tests replace it, and clock with it.
	Sleep func(context.Context, time.Duration) error
	clock func() time.Time

	// OnWait, when set, hears of every wait for a rate limit of a second
	// or more, before it starts (the CLI shows it on stderr).
	OnWait func(d time.Duration, why string)

	// Pacing and holds, per endpoint (see ratelimit.go).
	mu     sync.Mutex
	pacers map[string]*pacer
	waited time.Duration // in all, for rate limits
	// keyUntil is when the admin key the calls carry ends (zero: none).
	keyUntil time.Time
	// gate bounds the requests in flight, adapting to the server.
	gate *gate
	// reached is set once the site has answered a request.
	reached atomic.Bool
}

// New makes a client for the site at base (for example
// https://acme.atlassian.net, or a sandbox's URL).
//
// Credentials go to that origin (scheme, host and port) and nowhere else:
// a link in an answer that points elsewhere is an error, and a redirect
// elsewhere is followed without them (Cloud sends attachment downloads to
// its media host, with a token of their own in the URL). Plain http:// is
// refused but for loopback addresses (a local sandbox), since it would
// carry the token in clear, and so is a URL with a user name or password
// in it: those belong in the environment or a credentials file.
func New(base string, creds Credentials) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a site URL: want https://NAME.atlassian.net", RedactURL(base))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: the URL holds a user name or password; give credentials through FERRY_EMAIL and FERRY_API_TOKEN, FERRY_TOKEN or --credentials FILE, never in the URL", u.Redacted())
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: plain http:// would send the API token in clear; use https:// (http:// is accepted only for a loopback address, such as a local ferry sandbox)", u)
	}
	c := &Client{base: u, site: u.String(), siteID: "cloud:" + u.Host, creds: creds, Retries: 8, MaxWait: DefaultMaxWait, Sleep: sleep, gate: newGate(MaxInFlight)}
	if id, ok := strings.CutPrefix(u.Path, "/ex/confluence/"); ok && id != "" && !strings.Contains(id, "/") {
		c.siteID = "cloud-id:" + id // through the gateway, the host names no site
	}
	c.http = &http.Client{Timeout: 2 * time.Minute, CheckRedirect: c.checkRedirect}
	return c, nil
}

// GatewayOrigin is where Atlassian's API gateway answers; tests point it
// at a sandbox.
var GatewayOrigin = "https://api.atlassian.com"

// Connect makes a client for a site, as New does. Scoped API tokens and
// OAuth 2.0 tokens (bearer tokens) are refused by *.atlassian.net itself
// and work only through Atlassian's gateway: for those, Connect reads the
// site's cloudId from SITE/_edge/tenant_info (which needs no credentials)
// and sends every call to GatewayOrigin/ex/confluence/{cloudId}/wiki/....
// A gateway URL given as the site is used as it is.
func Connect(ctx context.Context, site string, creds Credentials) (*Client, error) {
	c, err := New(site, creds)
	if err != nil || creds.Bearer == "" || !strings.HasSuffix(strings.ToLower(c.base.Hostname()), ".atlassian.net") {
		return c, err
	}
	id, err := c.tenantID(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: finding the site's cloudId for Atlassian's API gateway, which bearer tokens need: %w", c.base, err)
	}
	g, err := New(strings.TrimRight(GatewayOrigin, "/")+"/ex/confluence/"+url.PathEscape(id), creds)
	if err != nil {
		return nil, err
	}
	g.site, g.siteID = c.site, c.siteID
	return g, nil
}

// tenantID reads the site's cloudId.
func (c *Client) tenantID(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tenantInfoURL(c.base), nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /_edge/tenant_info: %s", resp.Status)
	}
	var t struct {
		CloudID string `json:"cloudId"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&t); err != nil || t.CloudID == "" {
		return "", fmt.Errorf("GET /_edge/tenant_info: no cloudId in the answer")
	}
	return t.CloudID, nil
}

// tenantInfoURL is where a site says its cloudId; tests point it at a
// sandbox.
var tenantInfoURL = func(site *url.URL) string { return site.Scheme + "://" + site.Host + "/_edge/tenant_info" }

// Site is the site's URL as it was given.
func (c *Client) Site() string { return c.site }

// SiteID names the site for provenance (ferry.source, journals): cloud:HOST
// of its URL, or, for a gateway URL given as it is, cloud-id:CLOUDID.
func (c *Client) SiteID() string { return c.siteID }

// IsLoopback reports whether host (a name or an address, without a port)
// is this machine: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL hides the password of a URL, for messages; it copes with one
// that does not parse.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}

// sameOrigin reports whether u is on the client's origin: the same scheme,
// host and port.
func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// checkRedirect follows a redirect to the client's origin as it is, and
// one elsewhere without credentials; it refuses to go from https to http.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: stopped after 10 redirects", errRedirect)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: from https to %s", errRedirect, req.URL.Redacted())
	}
	if !c.sameOrigin(req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// errRedirect is a redirect the client will not follow; retrying the
// request would not change it.
var errRedirect = errors.New("a redirect refused")

// errOtherOrigin is a link in an answer that leads away from the site.
var errOtherOrigin = errors.New("it points to another site than the one the credentials are for: refused")

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetTransport replaces the HTTP transport (tests check requests and
// answers against the published API specs through it).
func (c *Client) SetTransport(rt http.RoundTripper) { c.http.Transport = rt }

// Base is the URL the client's calls go under: the site's, or Atlassian's
// gateway for the site (https://api.atlassian.com/ex/confluence/CLOUDID).
func (c *Client) Base() string { return c.base.String() }

// Get sends a GET to path (relative to the site, e.g. /wiki/api/v2/spaces)
// and decodes the JSON answer into out. GETs are retried: they are
// idempotent.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	resp, err := c.do(ctx, http.MethodGet, c.resolve(path, query), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// PostRepeatable sends a POST that is safe to repeat (a read such as
// users-bulk, or adding labels that may be there already): it is retried
// like a GET.
func (c *Client) PostRepeatable(ctx context.Context, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, http.MethodPost, true, c.resolve(path, nil), data, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// Put sends a PUT whose body is JSON. A PUT is idempotent (a version
// update names its version number), so it is retried.
func (c *Client) Put(ctx context.Context, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPut, c.resolve(path, nil), data, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// Upload sends a file as multipart/form-data (field "file", with
// minorEdit and comment), as v1 attachment uploads want. The file part
// carries mediaType (Confluence keeps it as the attachment's type; empty
// sends application/octet-stream) and the comment is declared
// text/plain; charset=utf-8, so non-ASCII comments arrive intact. The form is built
// afresh from open for every attempt, so a retry never replays a consumed
// stream. An upload is not idempotent: it is retried only when the server
// refused it (429, 503); callers check whether a failed upload happened
// before sending it again.
func (c *Client) Upload(ctx context.Context, method, path, filename, mediaType, comment string, open func() (io.ReadCloser, error), out any) error {
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	form := func() (io.ReadCloser, int64, string, error) {
		src, err := open()
		if err != nil {
			return nil, 0, "", err
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			defer src.Close()
			mw.WriteField("minorEdit", "true")
			var err error
			if comment != "" {
				var cw io.Writer
				if cw, err = mw.CreatePart(textField("comment")); err == nil {
					_, err = io.WriteString(cw, comment)
				}
			}
			var part io.Writer
			if err == nil {
				part, err = mw.CreatePart(fileField("file", filename, mediaType))
			}
			if err == nil {
				_, err = io.Copy(part, src)
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, -1, mw.FormDataContentType(), nil
	}
	resp, err := c.sendFrom(ctx, method, false, c.resolve(path, nil), form, http.Header{"X-Atlassian-Token": {"no-check"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// textField is the header of a form field of UTF-8 text.
func textField(name string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+quoteEscaper.Replace(name)+`"`)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return h
}

// fileField is the header of a form's file, with its media type (what
// multipart.Writer.CreateFormFile cannot set). The name is quoted as
// CreateFormFile quotes it: RFC 7578 §4.2 rules out filename*.
func fileField(name, filename, mediaType string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+quoteEscaper.Replace(name)+`"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", mediaType)
	return h
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// Delete sends a DELETE; it is retried, being idempotent.
func (c *Client) Delete(ctx context.Context, path string) error {
	resp, err := c.do(ctx, http.MethodDelete, c.resolve(path, nil), nil, "")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Download opens the bytes an attachment's downloadLink names (relative to
// the site's /wiki), retried like any GET. The caller closes it.
func (c *Client) Download(ctx context.Context, link string) (io.ReadCloser, error) {
	if strings.HasPrefix(link, "/download/") {
		link = "/wiki" + link
	}
	resp, err := c.do(ctx, http.MethodGet, c.resolve(link, nil), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Post sends a POST whose body is JSON; it is retried only when the server
// says it did not take the request (429, 503).
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, c.resolve(path, nil), data, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

func decode(resp *http.Response, out any) error {
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// resolve joins path (a path of the API, starting /wiki/, with or
// without a query) under the client's base, keeping the base's own path:
// through Atlassian's gateway every call is under
// /ex/confluence/{cloudId}. An absolute URL is taken as it is (and must
// then be on the base's origin to be sent).
func (c *Client) resolve(path string, query url.Values) *url.URL {
	ref, err := url.Parse(path)
	if err != nil {
		ref = &url.URL{Path: path}
	}
	u := ref
	if !ref.IsAbs() {
		j := *c.base
		j.Path = strings.TrimRight(c.base.Path, "/") + ref.Path
		j.RawPath = ""
		if ref.RawPath != "" || c.base.RawPath != "" {
			j.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + ref.EscapedPath()
		}
		j.RawQuery, j.Fragment = ref.RawQuery, ""
		u = &j
	}
	if query != nil {
		q := u.Query()
		for k, vs := range query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u
}

// do sends a request, retrying as the method and status allow.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, contentType string) (*http.Response, error) {
	idempotent := method == http.MethodGet || method == http.MethodHead || method == http.MethodPut || method == http.MethodDelete
	return c.send(ctx, method, idempotent, u, body, contentType)
}

func (c *Client) send(ctx context.Context, method string, idempotent bool, u *url.URL, body []byte, contentType string) (*http.Response, error) {
	var open func() (io.ReadCloser, int64, string, error)
	if body != nil {
		open = func() (io.ReadCloser, int64, string, error) {
			return io.NopCloser(strings.NewReader(string(body))), int64(len(body)), contentType, nil
		}
	}
	return c.sendFrom(ctx, method, idempotent, u, open, nil)
}

// sendFrom sends a request whose body open makes afresh for every attempt,
// so a retry never replays a consumed stream.
func (c *Client) sendFrom(ctx context.Context, method string, idempotent bool, u *url.URL, open func() (io.ReadCloser, int64, string, error), header http.Header) (*http.Response, error) {
	if !c.sameOrigin(u) {
		return nil, fmt.Errorf("%s %s: %w (credentials go only to %s)", method, u.Redacted(), errOtherOrigin, c.base)
	}
	ep := c.endpoint(method, u)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if open != nil {
			body, size, contentType, err := open()
			if err != nil {
				return nil, err
			}
			req.Body, req.ContentLength = body, size
			req.Header.Set("Content-Type", contentType)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "ferry")
		switch {
		case c.creds.Bearer != "":
			req.Header.Set("Authorization", "Bearer "+c.creds.Bearer)
		case c.creds.APIToken != "":
			req.SetBasicAuth(c.creds.Email, c.creds.APIToken)
		}
		if err := c.waitSlot(ctx, ep); err != nil {
			return nil, err
		}
		if err := c.withAdminKey(ctx, req); err != nil {
			return nil, err
		}
		epoch, err := c.gate.acquire(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.http.Do(req)
		c.gate.release(epoch, err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable))
		if err == nil {
			c.reached.Store(true)
			// A 429's X-RateLimit-Reset is rounded up to the minute:
			// its Retry-After, which limited reads, is the wait.
			if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
				c.pace(ep, resp.Header)
			}
		}
		var wait time.Duration
		switch {
		case err != nil:
			if hint := c.unreachable(err); hint != "" {
				return nil, fmt.Errorf("%s %s: %w (%s)", method, u.Path, redactURL(err), hint)
			}
			if ctx.Err() != nil || !idempotent || errors.Is(err, errRedirect) {
				return nil, fmt.Errorf("%s %s: %w", method, u.Path, redactURL(err))
			}
			wait = c.backoff(attempt)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			// The server did not take the request: any method may retry,
			// once the endpoint's wait is over.
			var tooLong error
			if wait, tooLong = c.limited(ep, resp, attempt); tooLong != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("%s %s: %w", method, u.Path, tooLong)
			}
		case resp.StatusCode >= 500 && idempotent:
			wait = c.backoff(attempt)
		case resp.StatusCode >= 300:
			defer resp.Body.Close()
			return nil, parseError(resp)
		default:
			return resp, nil
		}
		if attempt >= c.Retries {
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w (after %d retries)", method, u.Path, redactURL(err), attempt)
			}
			defer resp.Body.Close()
			e := parseError(resp)
			e.Hint = fmt.Sprintf("still failing after %d retries; try again later", attempt)
			return nil, e
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// unreachable says why a failed request is not worth retrying: a host
// name that does not resolve, or a connection refused by a site that has
// never answered this client (a wrong URL, a sandbox not started). A site
// that answered before and then refuses is retried: it may be restarting.
func (c *Client) unreachable(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return "no such host: check the site's URL"
	}
	if errors.Is(err, syscall.ECONNREFUSED) && !c.reached.Load() {
		return "nothing answers at " + c.base.Host + ": check the URL, and that the site (or ferry sandbox) is running"
	}
	return ""
}

// redactURL drops userinfo a URL might carry from a transport error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.User = nil
			ue.URL = u.Redacted()
		}
	}
	return err
}
