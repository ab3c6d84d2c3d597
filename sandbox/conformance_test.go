package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"ferry/cloud"
	"ferry/embedded"
	"ferry/generate"
	"ferry/internal/shared"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var ctx = context.Background()

var (
	// The newer v2 spec (April 2026: admin key, folders, space roles,
	// user access); v1 for what v2 lacks.
	specV2 = shared.Path("reference/confluence/openapi-v2.2026-04.json")
	specV1 = shared.Path("reference/confluence/swagger-v1.v3.json")
)

// specs routes requests to the published specs and checks requests and
// answers against them.
type specs struct {
	v2, v1 routers.Router
	v1doc  *openapi3.T
}

func loadSpecs(t *testing.T, serverURL string) *specs {
	t.Helper()
	var v1doc *openapi3.T
	load := func(path, server string, comma bool) routers.Router {
		data, err := os.ReadFile(path)
		if err != nil {
			// A fresh clone has no shared folder; CI names one, and there
			// the specs must be found.
			if os.Getenv("FERRY_SHARED") != "" {
				t.Fatalf("FERRY_SHARED is set and the published API specs are not in it: %v", err)
			}
			t.Skipf("the published API specs are absent (%v): conformance cannot be checked", err)
		}
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		doc.Servers = openapi3.Servers{{URL: server}}
		if comma {
			commaSeparated(doc)
		} else {
			v1doc = doc
		}
		// Atlassian's spec has a default outside its enum (prefix "my,
		// team"): that is the spec's problem, not the answers'.
		router, err := legacy.NewRouter(doc, openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableExamplesValidation())
		if err != nil {
			t.Fatalf("route %s: %v", path, err)
		}
		return router
	}
	sp := &specs{v2: load(specV2, serverURL+"/wiki/api/v2", true), v1: load(specV1, serverURL, false)}
	sp.v1doc = v1doc
	return sp
}

// exempt says why a path is not checked against Confluence's specs: the
// Universal Plugin Manager's API (installed apps), the attachment bytes a
// download link leads to, and the site's tenant_info are not in them.
func exempt(path string) bool {
	return strings.HasPrefix(path, "/wiki/rest/plugins/1.0/") || strings.HasPrefix(path, "/wiki/download/") || path == "/_edge/tenant_info"
}

// check checks a request (its body as body) and the answer to it; it
// returns the spec's path template of the request, and what does not
// conform.
func (sp *specs) check(req *http.Request, body []byte, status int, header http.Header, answer []byte) (string, []string) {
	if exempt(req.URL.Path) {
		return "", nil
	}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	router := sp.v2
	if strings.HasPrefix(req.URL.Path, "/wiki/rest/api/") {
		router = sp.v1
	}
	route, params, err := router.FindRoute(check)
	if err != nil {
		return "", []string{fmt.Sprintf("%s %s: not in the spec: %v", req.Method, req.URL.Path, err)}
	}
	var bad []string
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	// kin-openapi cannot decode multipart bodies with binary parts (v1
	// uploads): their requests are not checked; their answers are.
	multipart := strings.HasPrefix(req.Header.Get("Content-Type"), "multipart/")
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil && !specAmbiguity(err) && !multipart {
		bad = append(bad, fmt.Sprintf("request %s %s: %v", req.Method, req.URL, err))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	out.SetBodyBytes(answer)
	if status < 400 {
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			bad = append(bad, fmt.Sprintf("answer %d to %s %s: %v", status, req.Method, req.URL, err))
		}
	}
	return req.Method + " " + route.Path, bad
}

// checker is a transport that checks every request ferry's client makes,
// and every answer, against the published specs.
type checker struct {
	sp   *specs
	mu   sync.Mutex
	seen map[string]int // routes checked, by path template
	bad  []string
}

func newChecker(t *testing.T, serverURL string) *checker {
	return &checker{sp: loadSpecs(t, serverURL), seen: map[string]int{}}
}

func (c *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	route, bad := c.sp.check(req, body, resp.StatusCode, resp.Header, respBody)
	c.mu.Lock()
	defer c.mu.Unlock()
	if route != "" {
		c.seen[route]++
	}
	c.bad = append(c.bad, bad...)
	return resp, nil
}

// commaSeparated makes every array-valued query parameter of the spec
// comma-separated (explode: false), as the spec's own descriptions say
// ("Multiple page ids can be specified as a comma-separated list") where
// its schemas leave OpenAPI's default, a repeated parameter. The sandbox
// reads both forms (TestRuleMultiValueFilters); ferry sends this one.
func commaSeparated(doc *openapi3.T) {
	no := false
	fix := func(p *openapi3.Parameter) {
		if p != nil && p.In == "query" && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("array") {
			p.Explode = &no
		}
	}
	for _, p := range doc.Components.Parameters {
		fix(p.Value)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				fix(p.Value)
			}
		}
	}
}

// specAmbiguity recognizes a defect of the published spec rather than of a
// request: page bodies are oneOf PageBodyWrite and PageNestedBodyWrite,
// two objects with no required properties, so every body matches both
// and oneOf fails whatever is sent. (The body ferry sends is a
// PageBodyWrite: representation and value.)
func specAmbiguity(err error) bool {
	return strings.Contains(err.Error(), `Error at "/body": input matches more than one oneOf schemas`)
}

func generatedSite(t *testing.T) *embedded.Site {
	t.Helper()
	site, err := embedded.Create(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	if err := generate.Site(ctx, site, generate.Options{Users: 30, Spaces: 3, Pages: 80, AttachmentBytes: 1 << 16, Seed: 5, Folders: 2}); err != nil {
		t.Fatal(err)
	}
	return site
}

// Everything the sandbox answers, and everything ferry's client asks,
// conforms to Atlassian's published v2 spec.
func TestConformsToPublishedSpec(t *testing.T) {
	srv := httptest.NewServer(New(generatedSite(t)))
	defer srv.Close()
	chk := newChecker(t, srv.URL)
	c, err := cloud.New(srv.URL, cloud.Credentials{Email: "a@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTransport(chk)
	readsRun(t, c)
	for _, b := range chk.bad {
		t.Error(b)
	}
	if len(chk.seen) < 21 {
		t.Errorf("only %d routes exercised: %v", len(chk.seen), chk.seen)
	}
}

// conformanceRun runs ferry's client through the reads an export makes,
// and the writes an import makes, against a sandbox serving a generated
// site.
func conformanceRun(t *testing.T, serverURL string) {
	c, err := cloud.New(serverURL, cloud.Credentials{Email: "a@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	readsRun(t, c)
	writesRun(t, c)
}

// readsRun reads what an export reads.
func readsRun(t *testing.T, c *cloud.Client) {
	var err error
	// An admin's export reads with an admin key, restricted pages too.
	if why, err := c.EnableAdminKey(ctx); err != nil || why != "" {
		t.Fatalf("admin key: %v %s", err, why)
	}

	var spaceIDs, pageIDs, authors []string
	if err := c.List(ctx, "/wiki/api/v2/spaces", url.Values{"limit": {"2"}}, func(r json.RawMessage) error {
		var s struct{ ID string }
		json.Unmarshal(r, &s)
		spaceIDs = append(spaceIDs, s.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(spaceIDs) != 3 {
		t.Fatalf("%d spaces listed through pages of 2, want 3", len(spaceIDs))
	}
	err = c.List(ctx, "/wiki/api/v2/pages", url.Values{"space-id": {spaceIDs[0]}, "limit": {"10"}, "status": cloud.Statuses["pages"]}, func(r json.RawMessage) error {
		var p struct {
			ID       string
			AuthorID string
		}
		json.Unmarshal(r, &p)
		pageIDs, authors = append(pageIDs, p.ID), append(authors, p.AuthorID)
		return nil
	})
	if err != nil || len(pageIDs) == 0 {
		t.Fatalf("pages %v: %v", pageIDs, err)
	}
	if err := c.List(ctx, "/wiki/api/v2/pages/"+pageIDs[0]+"/versions", nil, func(json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Body struct {
			Storage struct{ Value string }
		}
	}
	if err := c.Get(ctx, "/wiki/api/v2/pages/"+pageIDs[0], url.Values{"body-format": {"storage"}, "version": {"1"}}, &page); err != nil || page.Body.Storage.Value == "" {
		t.Fatalf("page body %q: %v", page.Body.Storage.Value, err)
	}
	// Installed apps: those a user installed, not those Confluence ships.
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) == 0 {
		t.Fatalf("apps %v: %v", apps, err)
	}
	for _, a := range apps {
		if a.Name == "" || a.Vendor == "" || a.Version == "" || strings.HasPrefix(a.Key, "com.atlassian.upm") {
			t.Errorf("app %+v", a)
		}
	}
	for _, id := range spaceIDs {
		if err := c.List(ctx, "/wiki/api/v2/spaces/"+id+"/permissions", nil, func(json.RawMessage) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// v1, for what v2 lacks: groups, their members, restrictions.
	var groupIDs []string
	if err := c.List(ctx, "/wiki/rest/api/group", nil, func(r json.RawMessage) error {
		var g struct{ ID string }
		json.Unmarshal(r, &g)
		groupIDs = append(groupIDs, g.ID)
		return nil
	}); err != nil || len(groupIDs) == 0 {
		t.Fatalf("groups %v: %v", groupIDs, err)
	}
	if err := c.Get(ctx, "/wiki/rest/api/group/by-id", url.Values{"id": {groupIDs[0]}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, "/wiki/rest/api/group/"+groupIDs[0]+"/membersByGroupId", nil, func(json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/wiki/rest/api/content/"+pageIDs[0]+"/restriction/byOperation", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/wiki/api/v2/spaces/"+spaceIDs[0], nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, "/wiki/api/v2/blogposts", url.Values{"limit": {"5"}}, func(json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var users struct{ Results []json.RawMessage }
	if err := c.Post(ctx, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": authors[:1]}, &users); err != nil || len(users.Results) != 1 {
		t.Fatalf("users-bulk %v: %v", users, err)
	}
	// Labels, footer and inline comments with replies, versions and bodies,
	// and attachments, of every page of the site.
	var allPages []string
	if err := c.List(ctx, "/wiki/api/v2/pages", url.Values{"limit": {"50"}}, func(r json.RawMessage) error {
		var p struct{ ID string }
		json.Unmarshal(r, &p)
		allPages = append(allPages, p.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	comments := 0
	for _, id := range allPages {
		if err := c.List(ctx, "/wiki/api/v2/pages/"+id+"/labels", nil, func(json.RawMessage) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for _, loc := range []string{"footer", "inline"} {
			err := c.List(ctx, "/wiki/api/v2/pages/"+id+"/"+loc+"-comments", url.Values{"body-format": {"storage"}}, func(r json.RawMessage) error {
				var cm struct{ ID string }
				json.Unmarshal(r, &cm)
				comments++
				if err := c.List(ctx, "/wiki/api/v2/"+loc+"-comments/"+cm.ID+"/children", nil, func(json.RawMessage) error { return nil }); err != nil {
					return err
				}
				if err := c.List(ctx, "/wiki/api/v2/"+loc+"-comments/"+cm.ID+"/versions", nil, func(json.RawMessage) error { return nil }); err != nil {
					return err
				}
				return c.Get(ctx, "/wiki/api/v2/"+loc+"-comments/"+cm.ID, url.Values{"body-format": {"storage"}, "version": {"1"}}, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if comments == 0 {
		t.Error("no footer comment was checked")
	}
	attachments := 0
	for _, id := range allPages {
		err := c.List(ctx, "/wiki/api/v2/pages/"+id+"/attachments", nil, func(r json.RawMessage) error {
			var a struct{ ID string }
			json.Unmarshal(r, &a)
			attachments++
			return c.List(ctx, "/wiki/api/v2/attachments/"+a.ID+"/versions", nil, func(json.RawMessage) error { return nil })
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if attachments == 0 {
		t.Error("no attachment was checked")
	}
	if err := c.Get(ctx, "/wiki/api/v2/pages/999999999", nil, nil); err == nil {
		t.Error("a missing page answered")
	}
}

// Without credentials, or with the wrong token, nothing is served.
func TestSandboxAuth(t *testing.T) {
	s := New(generatedSite(t))
	s.Token = "right"
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, creds := range []cloud.Credentials{{Email: "a@b.c", APIToken: "wrong"}, {Bearer: "wrong"}} {
		c, _ := cloud.New(srv.URL, creds)
		err := c.Get(ctx, "/wiki/api/v2/spaces", nil, nil)
		var ae *cloud.APIError
		if !errorsAs(err, &ae) || ae.Status != 401 {
			t.Errorf("%v: %v", creds, err)
		}
	}
	c, _ := cloud.New(srv.URL, cloud.Credentials{Email: "a@b.c", APIToken: "right"})
	if err := c.Get(ctx, "/wiki/api/v2/spaces", nil, nil); err != nil {
		t.Error(err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// The writes an import sends, and the sandbox's answers to them, conform
// to the published v2 spec too (space creation is a v1 call, not checked
// here).
func TestWritesConformToPublishedSpec(t *testing.T) {
	site, err := embedded.Create(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	chk := newChecker(t, srv.URL)
	c, _ := cloud.New(srv.URL, cloud.Credentials{Email: "a@example.com", APIToken: "token"})
	c.SetTransport(chk)
	writesRun(t, c)
	for _, b := range chk.bad {
		t.Error(b)
	}
}

// writesRun writes what an import writes, and removes it again.
func writesRun(t *testing.T, c *cloud.Client) {
	var err error
	// An admin's import restricts pages to others and goes on writing
	// to them: it holds an admin key.
	if why, err := c.EnableAdminKey(ctx); err != nil || why != "" {
		t.Fatalf("admin key: %v %s", err, why)
	}
	var space struct{ ID json.Number }
	if err := c.Post(ctx, "/wiki/rest/api/space", map[string]any{"key": "ENG", "name": "Engineering"}, &space); err != nil {
		t.Fatal(err)
	}
	var group struct{ ID string }
	if err := c.Post(ctx, "/wiki/rest/api/group", map[string]any{"name": "engineers"}, &group); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(ctx, "/wiki/rest/api/space/ENG/permission", map[string]any{"subject": map[string]any{"type": "group", "identifier": group.ID},
		"operation": map[string]any{"key": "read", "target": "space"}}, nil); err != nil {
		t.Fatal(err)
	}
	var page struct {
		ID      string
		Version struct{ Number int }
	}
	body := map[string]any{"representation": "storage", "value": "<p>one</p>"}
	if err := c.Post(ctx, "/wiki/api/v2/pages", map[string]any{"spaceId": space.ID.String(), "status": "current", "title": "Plan", "body": body}, &page); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "/wiki/api/v2/pages/"+page.ID, map[string]any{"id": page.ID, "status": "current", "title": "Plan",
		"body": body, "version": map[string]any{"number": 2, "message": "ferry: version 2 by x at y"}}, &page); err != nil || page.Version.Number != 2 {
		t.Fatalf("update: %v %+v", err, page)
	}
	// A stale version number is refused, as Confluence refuses it.
	err = c.Put(ctx, "/wiki/api/v2/pages/"+page.ID, map[string]any{"id": page.ID, "status": "current", "title": "Plan",
		"body": body, "version": map[string]any{"number": 2}}, nil)
	var ae *cloud.APIError
	if !errorsAs(err, &ae) || ae.Status != 409 {
		t.Errorf("stale update: %v", err)
	}
	if err := c.Post(ctx, "/wiki/api/v2/pages/"+page.ID+"/properties", map[string]any{"key": "ferry.source", "value": map[string]any{"source_id": "1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/wiki/api/v2/pages/"+page.ID+"/properties", url.Values{"key": {"ferry.source"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(ctx, "/wiki/rest/api/content/"+page.ID+"/label", []map[string]string{{"prefix": "global", "name": "plan"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "/wiki/rest/api/content/"+page.ID+"/restriction/byOperation/read/byGroupId/"+group.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("spec text")), nil }
	if err := c.Upload(ctx, "PUT", "/wiki/rest/api/content/"+page.ID+"/child/attachment", "spec.txt", "text/plain", "first", open, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/wiki/rest/api/content/"+page.ID+"/restriction/byOperation", nil, nil); err != nil {
		t.Fatal(err)
	}
	// What an incremental import changes and removes.
	var child struct{ ID string }
	if err := c.Post(ctx, "/wiki/api/v2/pages", map[string]any{"spaceId": space.ID.String(), "status": "current", "title": "Child", "body": body}, &child); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "/wiki/rest/api/content/"+child.ID+"/move/append/"+page.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "/wiki/rest/api/content/"+child.ID+"/move/after/"+page.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "/wiki/rest/api/space/ENG", map[string]any{"name": "Engineering, renamed",
		"description": map[string]any{"plain": map[string]any{"value": "new", "representation": "plain"}}}, nil); err != nil {
		t.Fatal(err)
	}
	var props struct {
		Results []struct{ ID json.RawMessage }
	}
	if err := c.Get(ctx, "/wiki/api/v2/pages/"+page.ID+"/properties", url.Values{"key": {"ferry.source"}}, &props); err != nil || len(props.Results) != 1 {
		t.Fatalf("properties %+v: %v", props, err)
	}
	var atts struct{ Results []struct{ ID string } }
	if err := c.Get(ctx, "/wiki/api/v2/pages/"+page.ID+"/attachments", nil, &atts); err != nil || len(atts.Results) != 1 {
		t.Fatalf("attachments %+v: %v", atts, err)
	}
	var perms struct{ Results []struct{ ID string } }
	if err := c.Get(ctx, "/wiki/api/v2/spaces/"+space.ID.String()+"/permissions", nil, &perms); err != nil || len(perms.Results) == 0 {
		t.Fatalf("permissions %+v: %v", perms, err)
	}
	for _, path := range []string{
		"/wiki/api/v2/pages/" + page.ID + "/properties/" + strings.Trim(string(props.Results[0].ID), `"`),
		"/wiki/rest/api/content/" + page.ID + "/label?name=plan",
		"/wiki/rest/api/content/" + page.ID + "/restriction/byOperation/read/byGroupId/" + group.ID,
		"/wiki/api/v2/attachments/" + strings.TrimPrefix(atts.Results[0].ID, "att"),
		"/wiki/rest/api/space/ENG/permission/" + perms.Results[0].ID,
		"/wiki/rest/api/group/by-id?id=" + group.ID,
		"/wiki/api/v2/pages/" + child.ID,
		"/wiki/api/v2/pages/" + child.ID + "?purge=true",
	} {
		if err := c.Delete(ctx, path); err != nil {
			t.Errorf("DELETE %s: %v", path, err)
		}
	}
	// Removing what is gone answers 404, which an import takes as done.
	if err := c.Delete(ctx, "/wiki/rest/api/content/"+page.ID+"/label?name=plan"); !errorsAs(err, &ae) || ae.Status != 404 {
		t.Errorf("removing a label twice: %v", err)
	}
	n, _ := strconv.ParseInt(page.ID, 10, 64)
	var task struct{ ID string }
	if err := c.PostRepeatable(ctx, "/wiki/rest/api/content/archive", map[string]any{"pages": []map[string]int64{{"id": n}}}, &task); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/wiki/rest/api/longtask/"+task.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/wiki/api/v2/pages/"+page.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/wiki/rest/api/space/ENG"); err != nil {
		t.Fatal(err)
	}
}
