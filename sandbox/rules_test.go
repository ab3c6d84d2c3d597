package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// These tests hold the sandbox to the rules of sandbox/CLOUD.md, each
// through a plain HTTP client that knows nothing of ferry's.

// get asks the sandbox for path as any client would, with basic auth.
func get(t *testing.T, srv *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.SetBasicAuth("someone@example.com", "token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func resultField(out map[string]any, field string) []string {
	var got []string
	rs, _ := out["results"].([]any)
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok {
			got = append(got, fmt.Sprint(m[field]))
		}
	}
	sort.Strings(got)
	return got
}

// Rule: multi-valued filters are comma-separated lists (the v2 spec's
// text for id, space-id, status, keys); the repeated form is read too,
// every value of it.
func TestRuleMultiValueFilters(t *testing.T) {
	srv := httptest.NewServer(New(generatedSite(t)))
	defer srv.Close()
	_, all := get(t, srv, "/wiki/api/v2/spaces")
	keys := resultField(all, "key")
	if len(keys) < 2 {
		t.Fatalf("spaces %v", keys)
	}
	for _, q := range []string{"keys=" + keys[0] + "," + keys[1], "keys=" + keys[0] + "&keys=" + keys[1]} {
		if _, out := get(t, srv, "/wiki/api/v2/spaces?"+q); strings.Join(resultField(out, "key"), ",") != keys[0]+","+keys[1] {
			t.Errorf("%s: %v", q, resultField(out, "key"))
		}
	}
	for _, q := range []string{"status=current,trashed,archived", "status=current&status=trashed&status=archived"} {
		_, out := get(t, srv, "/wiki/api/v2/pages?limit=250&"+url.PathEscape(q))
		_, one := get(t, srv, "/wiki/api/v2/pages?limit=250&status=current")
		if len(resultField(out, "id")) <= len(resultField(one, "id")) {
			t.Errorf("%s: %d pages, as many as current alone (%d): not every status was read", q, len(resultField(out, "id")), len(resultField(one, "id")))
		}
	}
}

// Rule: v1 lists carry _links.base, the site's /wiki, and their next link
// is relative to it (the v1 spec's examples; pchuri/confluence-cli#168,
// salto-io/salto#6053).
func TestRuleV1NextIsRelativeToBase(t *testing.T) {
	srv := httptest.NewServer(New(generatedSite(t)))
	defer srv.Close()
	_, out := get(t, srv, "/wiki/rest/api/group?limit=2")
	links, _ := out["_links"].(map[string]any)
	base, next := fmt.Sprint(links["base"]), fmt.Sprint(links["next"])
	if base != srv.URL+"/wiki" || !strings.HasPrefix(next, "/rest/api/group?") {
		t.Fatalf("_links %v: want base %s/wiki and next under /rest/api", links, srv.URL)
	}
	if code, page2 := get(t, srv, strings.TrimPrefix(base, srv.URL)+next); code != 200 || len(resultField(page2, "id")) == 0 {
		t.Errorf("following base+next: %d %v", code, page2)
	}
}

// Rule: through Atlassian's gateway the API answers only under
// /ex/confluence/{cloudId}, and the site says its cloudId at
// /_edge/tenant_info.
func TestRuleGatewayPrefix(t *testing.T) {
	h := New(generatedSite(t))
	h.Prefix = h.GatewayPrefix()
	srv := httptest.NewServer(h)
	defer srv.Close()
	if code, out := get(t, srv, "/_edge/tenant_info"); code != 200 || out["cloudId"] != h.CloudID() {
		t.Errorf("tenant_info: %d %v", code, out)
	}
	if code, _ := get(t, srv, "/wiki/api/v2/spaces"); code != 404 {
		t.Errorf("without the prefix: %d, want 404", code)
	}
	if code, out := get(t, srv, h.Prefix+"/wiki/api/v2/spaces"); code != 200 || len(resultField(out, "id")) == 0 {
		t.Errorf("under the prefix: %d", code)
	}
}

// Rule: 429s as Atlassian documents them: Retry-After in seconds (here
// minutes of it), X-RateLimit-Reset at minute precision, RateLimit-Reason;
// a retry sent before the wait is over gets the same wait again; limits
// are per endpoint and method, so another endpoint is served.
func TestRuleRateLimitAnswers(t *testing.T) {
	h := New(generatedSite(t))
	h.EndpointLimit, h.RetryAfter = 1, 250*time.Second
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.SetBasicAuth("someone@example.com", "token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do("/wiki/api/v2/spaces"); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "1" {
		t.Fatalf("first: %d %v", r.StatusCode, r.Header)
	}
	for _, what := range []string{"over the limit", "retried before the wait is over"} {
		r := do("/wiki/api/v2/spaces")
		reset, err := time.Parse("2006-01-02T15:04Z", r.Header.Get("X-RateLimit-Reset"))
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "250" || err != nil || r.Header.Get("RateLimit-Reason") == "" {
			t.Errorf("%s: %d, Retry-After %q, X-RateLimit-Reset %q (%v), RateLimit-Reason %q", what, r.StatusCode, r.Header.Get("Retry-After"),
				r.Header.Get("X-RateLimit-Reset"), err, r.Header.Get("RateLimit-Reason"))
		}
		if wait := time.Until(reset); wait < 249*time.Second || wait > 310*time.Second {
			t.Errorf("%s: the reset is %s away, want the request's time plus 250 s, rounded up to the minute", what, wait)
		}
	}
	if r := do("/wiki/api/v2/pages"); r.StatusCode != 200 {
		t.Errorf("another endpoint: %d, want it served", r.StatusCode)
	}
	if asked, early := h.Waits(); asked != 1 || early != 1 {
		t.Errorf("waits asked %d, early %d; want 1 and 1", asked, early)
	}
}

// Rule: v1's GET /content/{id}/child/attachment/{attachmentId}/download
// answers 302 to the bytes, which a client that follows it receives.
func TestRuleV1DownloadRedirects(t *testing.T) {
	srv := httptest.NewServer(New(generatedSite(t)))
	defer srv.Close()
	_, pages := get(t, srv, "/wiki/api/v2/pages?limit=250")
	for _, p := range resultField(pages, "id") {
		_, atts := get(t, srv, "/wiki/api/v2/pages/"+p+"/attachments")
		ids := resultField(atts, "id")
		if len(ids) == 0 {
			continue
		}
		path := "/wiki/rest/api/content/" + p + "/child/attachment/" + ids[0] + "/download"
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, c := range []*http.Client{noFollow, http.DefaultClient} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.SetBasicAuth("someone@example.com", "token")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case c == noFollow && (resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/download/attachments/")):
				t.Errorf("without following: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			case c != noFollow && (resp.StatusCode != 200 || len(data) == 0):
				t.Errorf("followed: %d, %d bytes", resp.StatusCode, len(data))
			}
		}
		return
	}
	t.Fatal("no page of the generated site has an attachment")
}

// Rule: titles are unique within a space, among pages and among blog
// posts, trashed and archived ones included: a create answers 400 with
// Cloud's text (hunyadi/md2conf#149), and an update to a title in use a
// 400 whose text does not say so (sooperset/mcp-atlassian#692; the
// stricter reading).
func TestRuleUniqueTitles(t *testing.T) {
	srv := httptest.NewServer(New(generatedSite(t)))
	defer srv.Close()
	c := client{t, srv}
	_, spaces := c.send(http.MethodGet, "/wiki/api/v2/spaces", nil)
	space := fmt.Sprint(spaces["results"].([]any)[0].(map[string]any)["id"])
	body := map[string]any{"representation": "storage", "value": "<p>x</p>"}
	_, first := c.send(http.MethodPost, "/wiki/api/v2/pages", map[string]any{"spaceId": space, "status": "current", "title": "Unique", "body": body})
	_, second := c.send(http.MethodPost, "/wiki/api/v2/pages", map[string]any{"spaceId": space, "status": "current", "title": "Another", "body": body})
	raw := func(method, path string, v any) (int, string) {
		data, _ := json.Marshal(v)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(data))
		req.SetBasicAuth("someone@example.com", "token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, msg := raw(http.MethodPost, "/wiki/api/v2/pages", map[string]any{"spaceId": space, "status": "current", "title": "Unique", "body": body}); code != 400 ||
		!strings.Contains(msg, "A page with this title already exists") {
		t.Errorf("a second page titled Unique: %d %s", code, msg)
	}
	// A blog post may take a page's title: they are counted apart.
	if code, msg := raw(http.MethodPost, "/wiki/api/v2/blogposts", map[string]any{"spaceId": space, "status": "current", "title": "Unique", "body": body}); code != 200 {
		t.Errorf("a blog post titled as a page: %d %s", code, msg)
	}
	id := fmt.Sprint(second["id"])
	if code, msg := raw(http.MethodPut, "/wiki/api/v2/pages/"+id, map[string]any{"id": id, "status": "current", "title": "Unique", "body": body,
		"version": map[string]any{"number": 2}}); code != 400 || strings.Contains(msg, "already exists") {
		t.Errorf("renaming a page to a title in use: %d %s", code, msg)
	}
	// Trashed, the first page still holds its title.
	c.send(http.MethodDelete, "/wiki/api/v2/pages/"+fmt.Sprint(first["id"]), nil)
	if code, _ := raw(http.MethodPost, "/wiki/api/v2/pages", map[string]any{"spaceId": space, "status": "current", "title": "Unique", "body": body}); code != 400 {
		t.Errorf("the title of a trashed page: %d, want 400", code)
	}
}

// Rule: users-bulk answers an empty email for users whose profile hides
// it (v2 spec, User.email): a share of them, fixed by account id.
func TestRuleHiddenEmails(t *testing.T) {
	site := generatedSite(t)
	h := New(site)
	h.HiddenEmails = 0.4
	srv := httptest.NewServer(h)
	defer srv.Close()
	rows, _ := site.DB().Query(`SELECT account_id FROM users WHERE email IS NOT NULL`)
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	c := client{t, srv}
	_, out := c.send(http.MethodPost, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": ids})
	hidden := 0
	for _, u := range out["results"].([]any) {
		if u.(map[string]any)["email"] == "" {
			hidden++
		}
	}
	if share := float64(hidden) / float64(len(ids)); share < 0.2 || share > 0.6 {
		t.Errorf("%d of %d emails hidden, want about 40%%", hidden, len(ids))
	}
}

// Rule: a space created without permissions gets the site's default space
// permissions (the default access group's); with permissions, exactly
// those, and an operation a space permission cannot have is refused.
func TestRuleSpaceDefaultPermissions(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	c := client{t, srv}
	grants := func(key string) []string {
		t.Helper()
		_, sp := c.send(http.MethodGet, "/wiki/api/v2/spaces?keys="+key, nil)
		id := fmt.Sprint(sp["results"].([]any)[0].(map[string]any)["id"])
		_, out := c.send(http.MethodGet, "/wiki/api/v2/spaces/"+id+"/permissions?limit=250", nil)
		var got []string
		for _, r := range out["results"].([]any) {
			m := r.(map[string]any)
			p, op := m["principal"].(map[string]any), m["operation"].(map[string]any)
			got = append(got, fmt.Sprintf("%s:%s:%s", p["type"], op["key"], op["targetType"]))
		}
		sort.Strings(got)
		return got
	}
	if status, out := c.send(http.MethodPost, "/wiki/rest/api/space", map[string]any{"key": "DEF", "name": "Defaults"}); status != http.StatusOK {
		t.Fatalf("create: %d %v", status, out)
	}
	if got := grants("DEF"); len(got) != len(DefaultSpacePermissions) || !strings.Contains(strings.Join(got, " "), "group:read:space") {
		t.Errorf("a space created without permissions has %v: want the default access group's %v", got, DefaultSpacePermissions)
	}
	own := []any{map[string]any{"subjects": map[string]any{"user": map[string]any{"results": []any{map[string]string{"accountId": CallerAccount}}, "size": 1}},
		"operation": map[string]string{"operation": "read", "targetType": "space"}, "anonymousAccess": false, "unlicensedAccess": false}}
	if status, out := c.send(http.MethodPost, "/wiki/rest/api/space", map[string]any{"key": "EXA", "name": "Exact", "permissions": own}); status != http.StatusOK {
		t.Fatalf("create with permissions: %d %v", status, out)
	}
	if got := grants("EXA"); fmt.Sprint(got) != "[user:read:space]" {
		t.Errorf("a space created with one permission has %v", got)
	}
	bad := []any{map[string]any{"subjects": map[string]any{"user": map[string]any{"results": []any{map[string]string{"accountId": CallerAccount}}, "size": 1}},
		"operation": map[string]string{"operation": "archive", "targetType": "page"}, "anonymousAccess": false, "unlicensedAccess": false}}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/space", map[string]any{"key": "BAD", "name": "Bad", "permissions": bad}, false); status != http.StatusBadRequest {
		t.Errorf("a permission with operation archive:page: %d, want 400", status)
	}
}

// Rule: archiving is a task of at most 300 pages, none archived already,
// one per site at a time; its progress is at /longtask/{id}, and the pages
// are archived when it has finished.
func TestRuleArchiveTasks(t *testing.T) {
	site := generatedSite(t)
	h := New(site)
	h.ArchiveTime = 200 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	var ids []int64
	rows, _ := site.DB().Query(`SELECT rowid FROM content WHERE type = 'page' AND status = 'current' AND deleted_rev IS NULL ORDER BY rowid LIMIT 3`)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	pages := func(ids ...int64) map[string]any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]int64{"id": id})
		}
		return map[string]any{"pages": out}
	}
	many := make([]int64, 301)
	for i := range many {
		many[i] = ids[0]
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/content/archive", pages(many...), false); status != http.StatusBadRequest {
		t.Errorf("301 pages: %d, want 400", status)
	}
	status, task := call(t, srv, http.MethodPost, "/wiki/rest/api/content/archive", pages(ids[0], ids[1]), false)
	if status != http.StatusAccepted || task["id"] == nil {
		t.Fatalf("archiving 2 pages: %d %v", status, task)
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/content/archive", pages(ids[2]), false); status != http.StatusBadRequest {
		t.Errorf("a second task while one runs: %d, want 400", status)
	}
	if n := countOf(t, site, `SELECT count(*) FROM content WHERE rowid IN (?, ?) AND status = 'archived'`, ids[0], ids[1]); n != 0 {
		t.Errorf("%d pages archived before the task finished", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, st := call(t, srv, http.MethodGet, "/wiki/rest/api/longtask/"+task["id"].(string), nil, false)
		if st["finished"] == true {
			if st["successful"] != true || st["percentageComplete"] != 100.0 {
				t.Errorf("finished task: %v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := countOf(t, site, `SELECT count(*) FROM content WHERE rowid IN (?, ?) AND status = 'archived'`, ids[0], ids[1]); n != 2 {
		t.Errorf("%d of 2 pages archived after the task", n)
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/content/archive", pages(ids[0]), false); status != http.StatusBadRequest {
		t.Errorf("a page archived already: %d, want 400", status)
	}
}

// Rule: v1 grants a space permission only to a user or group that may
// read the space (read space first), only of the operations its spec
// lists, to a group named by id or by name.
func TestRuleSpaceGrantsNeedRead(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	var key, group string
	site.DB().QueryRow(`SELECT s.key, g.name FROM spaces s, groups g WHERE s.deleted_rev IS NULL AND g.deleted_rev IS NULL AND NOT EXISTS (SELECT 1 FROM space_permissions p
		WHERE p.space_id = s.id AND p.principal_id = g.id AND p.deleted_rev IS NULL) ORDER BY s.rowid, g.name LIMIT 1`).Scan(&key, &group)
	if key == "" {
		t.Fatal("no group without grants in a space")
	}
	post := func(op, target string) int {
		status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/space/"+key+"/permission", map[string]any{
			"subject": map[string]string{"type": "group", "identifier": group}, "operation": map[string]string{"key": op, "target": target}}, false)
		return status
	}
	if status := post("create", "page"); status != http.StatusBadRequest {
		t.Errorf("create page before read space: %d, want 400", status)
	}
	if status := post("read", "space"); status != http.StatusOK {
		t.Errorf("read space, by group name: %d", status)
	}
	if status := post("create", "page"); status != http.StatusOK {
		t.Errorf("create page after read space: %d", status)
	}
	if status := post("create", "page"); status != http.StatusBadRequest {
		t.Errorf("the same grant again: %d, want 400", status)
	}
	if status := post("purge", "space"); status != http.StatusBadRequest {
		t.Errorf("purge space, not one v1 grants: %d, want 400", status)
	}
}

// Rule: a new space comes with a homepage, titled as the space; a page
// created without a parent goes under it, unless root-level=true; the
// homepage's title is taken like any other.
func TestRuleSpaceHomepage(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	c := client{t, srv}
	c.send(http.MethodPost, "/wiki/rest/api/space", map[string]any{"key": "HOM", "name": "Home base"})
	_, sp := c.send(http.MethodGet, "/wiki/api/v2/spaces?keys=HOM", nil)
	space := sp["results"].([]any)[0].(map[string]any)
	home, _ := space["homepageId"].(string)
	if home == "" {
		t.Fatalf("a new space has no homepage: %v", space)
	}
	if _, hp := c.send(http.MethodGet, "/wiki/api/v2/pages/"+home, nil); hp["title"] != "Home base" {
		t.Errorf("the homepage is titled %v", hp["title"])
	}
	page := func(title, query string) map[string]any {
		_, out := c.send(http.MethodPost, "/wiki/api/v2/pages"+query, map[string]any{"spaceId": space["id"], "status": "current", "title": title,
			"body": map[string]any{"representation": "storage", "value": "<p>x</p>"}})
		return out
	}
	if p := page("Under the homepage", ""); p["parentId"] != home {
		t.Errorf("a page created without a parent: parent %v, want the homepage %s", p["parentId"], home)
	}
	if p := page("At the root", "?root-level=true"); p["parentId"] != nil {
		t.Errorf("a page created with root-level=true: parent %v", p["parentId"])
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/pages", map[string]any{"spaceId": space["id"], "status": "current", "title": "Home base",
		"body": map[string]any{"representation": "storage", "value": "<p>x</p>"}}, false); status != http.StatusBadRequest {
		t.Errorf("a page titled as the homepage: %d, want 400", status)
	}
}

// Rule: v2 space properties: created once per key (a second create of a
// key in use answers 400, not an overwrite), updated with the next version
// number only, read by key.
func TestRuleSpaceProperties(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	var space string
	site.DB().QueryRow(`SELECT rowid FROM spaces WHERE deleted_rev IS NULL ORDER BY rowid LIMIT 1`).Scan(&space)
	path := "/wiki/api/v2/spaces/" + space + "/properties"
	status, created := call(t, srv, http.MethodPost, path, map[string]any{"key": "k", "value": map[string]int{"n": 1}}, true)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	if status, _ := call(t, srv, http.MethodPost, path, map[string]any{"key": "k", "value": 2}, true); status != http.StatusBadRequest {
		t.Errorf("a second create of the key: %d, want 400", status)
	}
	id := fmt.Sprint(created["id"])
	if status, _ := call(t, srv, http.MethodPut, path+"/"+id, map[string]any{"key": "k", "value": 3, "version": map[string]int{"number": 3}}, true); status != http.StatusBadRequest {
		t.Errorf("an update skipping a version: %d, want 400", status)
	}
	if status, _ := call(t, srv, http.MethodPut, path+"/"+id, map[string]any{"key": "k", "value": 3, "version": map[string]int{"number": 2}}, true); status != http.StatusOK {
		t.Errorf("an update to version 2: %d", status)
	}
	_, got := call(t, srv, http.MethodGet, path+"?key=k", nil, true)
	if rs, _ := got["results"].([]any); len(rs) != 1 || fmt.Sprint(rs[0].(map[string]any)["value"]) != "3" {
		t.Errorf("read by key: %v", got)
	}
}

// servePage serves a generated site, closed when the test ends, with a
// new root page of this title and storage body in its first space.
func servePage(t *testing.T, title, body string) (*httptest.Server, client, map[string]any) {
	srv := httptest.NewServer(New(generatedSite(t)))
	t.Cleanup(srv.Close)
	c := client{t, srv}
	_, sp := c.send(http.MethodGet, "/wiki/api/v2/spaces?limit=1", nil)
	spaceID := sp["results"].([]any)[0].(map[string]any)["id"]
	_, page := c.send(http.MethodPost, "/wiki/api/v2/pages?root-level=true", map[string]any{"spaceId": spaceID, "status": "current", "title": title,
		"body": map[string]any{"representation": "storage", "value": body}})
	return srv, c, page
}

// Rule: an inline comment's textSelection must be text of the page's
// current body, textSelectionMatchCount how often it occurs there, and
// textSelectionMatchIndex one of those occurrences.
func TestRuleInlineSelection(t *testing.T) {
	srv, _, page := servePage(t, "Selections", "<p>one <em>two</em> one &amp; three</p>")
	comment := func(selection string, count, index int) int {
		status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/inline-comments", map[string]any{"pageId": page["id"],
			"body":                    map[string]any{"representation": "storage", "value": "<p>c</p>"},
			"inlineCommentProperties": map[string]any{"textSelection": selection, "textSelectionMatchCount": count, "textSelectionMatchIndex": index}}, false)
		return status
	}
	for _, tc := range []struct {
		selection    string
		count, index int
		want         int
	}{
		{"one", 2, 1, http.StatusCreated},
		{"two", 1, 0, http.StatusCreated},         // inside markup
		{"one & three", 1, 0, http.StatusCreated}, // an entity, decoded
		{"one", 1, 0, http.StatusBadRequest},      // the count is wrong
		{"one", 2, 2, http.StatusBadRequest},      // no third occurrence
		{"four", 1, 0, http.StatusBadRequest},     // not in the page
		{"", 0, 0, http.StatusBadRequest},
	} {
		if got := comment(tc.selection, tc.count, tc.index); got != tc.want {
			t.Errorf("selection %q, count %d, index %d: %d, want %d", tc.selection, tc.count, tc.index, got, tc.want)
		}
	}
}

// Rule 32: a reply is made in its parent's collection: an inline reply to a
// footer comment, or a footer reply to an inline one, answers 400.
func TestRuleReplyInItsParentsCollection(t *testing.T) {
	srv, c, page := servePage(t, "Replies", "<p>quoted words</p>")
	body := map[string]any{"representation": "storage", "value": "<p>c</p>"}
	_, footer := c.send(http.MethodPost, "/wiki/api/v2/footer-comments", map[string]any{"pageId": page["id"], "body": body})
	_, inline := c.send(http.MethodPost, "/wiki/api/v2/inline-comments", map[string]any{"pageId": page["id"], "body": body,
		"inlineCommentProperties": map[string]any{"textSelection": "quoted", "textSelectionMatchCount": 1, "textSelectionMatchIndex": 0}})
	for _, tc := range []struct {
		collection string
		parent     any
		want       int
	}{
		{"footer-comments", footer["id"], http.StatusCreated},
		{"inline-comments", inline["id"], http.StatusCreated},
		{"inline-comments", footer["id"], http.StatusBadRequest},
		{"footer-comments", inline["id"], http.StatusBadRequest},
	} {
		status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/"+tc.collection, map[string]any{"parentCommentId": tc.parent, "body": body}, false)
		if status != tc.want {
			t.Errorf("a reply through %s to comment %v: %d, want %d", tc.collection, tc.parent, status, tc.want)
		}
	}
}

// Rule: a blog post takes its body in storage format only; wiki markup is
// converted at POST /contentbody/convert/storage (a documented subset;
// a macro outside it answers 400).
func TestRuleWikiMarkup(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	var space string
	site.DB().QueryRow(`SELECT rowid FROM spaces WHERE deleted_rev IS NULL ORDER BY rowid LIMIT 1`).Scan(&space)
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/blogposts", map[string]any{"spaceId": space, "status": "current", "title": "Wiki post",
		"body": map[string]any{"representation": "wiki", "value": "*news*"}}, false); status != http.StatusBadRequest {
		t.Errorf("a blog post in wiki markup: %d, want 400", status)
	}
	for _, tc := range []struct {
		wiki, want string
		status     int
	}{
		{"h3. Title\nline one\nline two\n\n# a\n# b", "<h3>Title</h3><p>line one line two</p><ol><li>a</li><li>b</li></ol>", http.StatusOK},
		{"{{x < y}} and [https://example.com]", `<p><code>x &lt; y</code> and <a href="https://example.com">https://example.com</a></p>`, http.StatusOK},
		{"{panel}boxed{panel}", "", http.StatusBadRequest},
	} {
		status, out := call(t, srv, http.MethodPost, "/wiki/rest/api/contentbody/convert/storage", map[string]string{"value": tc.wiki, "representation": "wiki"}, false)
		if status != tc.status || (status == http.StatusOK && out["value"] != tc.want) {
			t.Errorf("%q: %d %v, want %d %q", tc.wiki, status, out["value"], tc.status, tc.want)
		}
	}
}

// Rule: trashed content takes no update but a restore: an update with
// status current brings it back, its contents unchanged.
func TestRuleTrashRestore(t *testing.T) {
	site := generatedSite(t)
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	var page, title string
	var n int
	site.DB().QueryRow(`SELECT c.rowid, v.title, v.number FROM content c JOIN content_versions v ON v.content_id = c.id
		AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id)
		WHERE c.type = 'page' AND c.status = 'current' AND c.deleted_rev IS NULL AND NOT EXISTS (SELECT 1 FROM content k WHERE k.parent_id = c.id) ORDER BY c.rowid LIMIT 1`).Scan(&page, &title, &n)
	if status, _ := call(t, srv, http.MethodDelete, "/wiki/api/v2/pages/"+page, nil, true); status != http.StatusNoContent {
		t.Fatalf("trash: %d", status)
	}
	update := func(status string) (int, map[string]any) {
		return call(t, srv, http.MethodPut, "/wiki/api/v2/pages/"+page, map[string]any{"id": page, "status": status, "title": title,
			"body": map[string]any{"representation": "storage", "value": "<p>new</p>"}, "version": map[string]any{"number": n + 1}}, true)
	}
	if status, _ := update("draft"); status != http.StatusBadRequest {
		t.Errorf("an update of trashed content: %d, want 400", status)
	}
	status, out := update("current")
	if status != http.StatusOK || out["status"] != "current" || fmt.Sprint(out["version"].(map[string]any)["number"]) != fmt.Sprint(n) {
		t.Errorf("a restore: %d, status %v, version %v (want current, still %d)", status, out["status"], out["version"], n)
	}
}

// Rule: a page update may transfer its ownership (ownerId) to an account
// that may use the site, which the page then answers as its owner; an
// unknown account, one without access, and a blog post's owner are
// refused.
func TestRulePageOwner(t *testing.T) {
	site := generatedSite(t)
	h := New(site)
	srv := httptest.NewServer(h)
	defer srv.Close()
	var users []string
	rows, _ := site.DB().Query(`SELECT account_id FROM users WHERE status = 'active' ORDER BY account_id LIMIT 2`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		users = append(users, id)
	}
	rows.Close()
	h.SetAccess(users[1], false)
	latest := func(kind string) (string, string, int) {
		var id, title string
		var n int
		site.DB().QueryRow(`SELECT c.rowid, v.title, v.number FROM content c JOIN content_versions v ON v.content_id = c.id
			AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id)
			WHERE c.type = ? AND c.status = 'current' AND c.deleted_rev IS NULL ORDER BY c.rowid LIMIT 1`, kind).Scan(&id, &title, &n)
		return id, title, n
	}
	update := func(kind, owner string) (int, map[string]any) {
		id, title, n := latest(kind)
		return call(t, srv, http.MethodPut, "/wiki/api/v2/"+kind+"s/"+id, map[string]any{"id": id, "status": "current", "title": title, "ownerId": owner,
			"body": map[string]any{"representation": "storage", "value": "<p>owned</p>"}, "version": map[string]any{"number": n + 1}}, true)
	}
	for _, c := range []struct{ kind, owner, why string }{
		{"page", "no-such-account", "an unknown account"}, {"page", users[1], "an account without access"}, {"blogpost", users[0], "a blog post"},
	} {
		if status, _ := update(c.kind, c.owner); status != http.StatusBadRequest {
			t.Errorf("ownership to %s: %d, want 400", c.why, status)
		}
	}
	status, out := update("page", users[0])
	if status != http.StatusOK || out["ownerId"] != users[0] {
		t.Fatalf("ownership transferred: %d, owner %v (want %s)", status, out["ownerId"], users[0])
	}
	id, _, _ := latest("page")
	if _, got := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+id, nil, true); got["ownerId"] != users[0] || got["authorId"] == users[0] {
		t.Errorf("the page read back: owner %v, author %v", got["ownerId"], got["authorId"])
	}
}
