package sandbox

import (
	"bytes"
	"encoding/json"
	"ferry/model"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// validating wraps the sandbox: every answer it gives, to any client, is
// checked against the published specs, and the route it came from noted.
type validating struct {
	h    *Server
	sp   *specs
	mu   sync.Mutex
	seen map[string]bool // the sandbox's route patterns that answered
	bad  []string
}

// recorder keeps a copy of an answer while it goes out.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) { r.status = status; r.ResponseWriter.WriteHeader(status) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (v *validating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	original := r.Clone(r.Context())
	original.Body = io.NopCloser(bytes.NewReader(body))
	original.URL.Scheme, original.URL.Host = "http", r.Host // a server sees a relative URL
	rec := &recorder{ResponseWriter: w}
	v.h.ServeHTTP(rec, r)
	_, bad := v.sp.check(original, body, rec.status, rec.Header(), rec.body.Bytes())
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Pattern != "" && rec.status < 400 {
		v.seen[r.Pattern] = true
	}
	v.bad = append(v.bad, bad...)
}

// walk asks every GET route of the sandbox once, as a client that knows
// only the spec would: ids come from the lists the spec describes.
func walk(t *testing.T, srv *httptest.Server) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.SetBasicAuth("walker@example.com", "token")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	first := func(out map[string]any, field string) string {
		rs, _ := out["results"].([]any)
		for _, r := range rs {
			if m, ok := r.(map[string]any); ok && m[field] != nil {
				return fmt.Sprint(m[field])
			}
		}
		t.Fatalf("no %s in %v", field, out)
		return ""
	}
	space := get("/wiki/api/v2/spaces")
	spaceID, key := first(space, "id"), first(space, "key")
	page := first(get("/wiki/api/v2/pages?limit=250&space-id="+spaceID), "id")
	blog := first(get("/wiki/api/v2/blogposts?limit=250"), "id")
	var att, attPage, comment string
	for _, p := range resultsOf(get("/wiki/api/v2/pages?limit=250")) {
		if att == "" {
			if a := resultsOf(get("/wiki/api/v2/pages/" + p + "/attachments")); len(a) > 0 {
				att, attPage = a[0], p
			}
		}
		if comment == "" {
			if c := resultsOf(get("/wiki/api/v2/pages/" + p + "/footer-comments")); len(c) > 0 {
				comment = c[0]
			}
		}
	}
	groups := get("/wiki/rest/api/group")
	group := first(groups, "id")
	groupName := first(groups, "name")
	user := first(get("/wiki/rest/api/group/"+group+"/membersByGroupId"), "accountId")
	var attachment map[string]any
	for _, a := range get("/wiki/api/v2/pages/" + attPage + "/attachments")["results"].([]any) {
		attachment = a.(map[string]any)
	}
	download, _ := attachment["downloadLink"].(string)
	for _, path := range []string{
		"/wiki/api/v2/spaces/" + spaceID, "/wiki/api/v2/spaces/" + spaceID + "/permissions",
		"/wiki/api/v2/pages/" + page, "/wiki/api/v2/pages/" + page + "?body-format=storage", "/wiki/api/v2/pages/" + page + "/versions",
		"/wiki/api/v2/pages/" + page + "/labels", "/wiki/api/v2/pages/" + page + "/properties", "/wiki/api/v2/pages/" + page + "/inline-comments",
		"/wiki/api/v2/blogposts/" + blog, "/wiki/api/v2/blogposts/" + blog + "/versions", "/wiki/api/v2/blogposts/" + blog + "/attachments",
		"/wiki/api/v2/blogposts/" + blog + "/labels", "/wiki/api/v2/blogposts/" + blog + "/properties", "/wiki/api/v2/blogposts/" + blog + "/footer-comments",
		"/wiki/api/v2/blogposts/" + blog + "/inline-comments",
		"/wiki/api/v2/pages/" + page + "?body-format=storage&include-labels=true&include-properties=true&include-versions=true&include-likes=true",
		"/wiki/api/v2/blogposts/" + blog + "?include-labels=true&include-properties=true&include-versions=true&include-likes=true",
		"/wiki/api/v2/pages/" + page + "/likes/users", "/wiki/api/v2/blogposts/" + blog + "/likes/users",
		"/wiki/api/v2/footer-comments?body-format=storage", "/wiki/api/v2/inline-comments?body-format=storage&sort=-created-date",
		"/wiki/api/v2/attachments?limit=5",
		"/wiki/api/v2/attachments/" + strings.TrimPrefix(att, "att") + "/versions",
		"/wiki/api/v2/footer-comments/" + comment + "/children", "/wiki/api/v2/footer-comments/" + comment + "/versions",
		"/wiki/api/v2/comments/" + comment + "/properties",
		"/wiki/rest/api/group/by-id?id=" + group, "/wiki/rest/api/group/by-name?name=" + url.QueryEscape(groupName),
		"/wiki/rest/api/content/" + page + "/restriction/byOperation",
		"/wiki/rest/api/space/" + key + "/content/page?depth=all&limit=3&expand=restrictions.read.restrictions.user,restrictions.read.restrictions.group,restrictions.update.restrictions.user,restrictions.update.restrictions.group",
		"/wiki/rest/api/space/" + key + "/content/blogpost?depth=root",
		"/wiki/rest/api/content/" + page + "/restriction/byOperation/read/user?accountId=" + url.QueryEscape(user),
		"/wiki/rest/api/content/" + page + "/restriction/byOperation/read/byGroupId/" + group,
		"/wiki/rest/api/content/" + attPage + "/child/attachment/" + att + "/download",
		"/wiki/rest/api/space/" + key + "/property/ferry.source",
		"/wiki/rest/api/user/current",
		"/wiki" + download,
		"/wiki/rest/plugins/1.0/",
	} {
		get(path)
	}
}

func resultsOf(out map[string]any) []string {
	var ids []string
	rs, _ := out["results"].([]any)
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(m["id"]))
		}
	}
	return ids
}

// Every answer the sandbox gives conforms to the published specs (v2 of
// April 2026, v1 for what v2 lacks), whoever asks: ferry's client through
// its whole conformance run (reads and writes), and a walker that asks
// every GET route as any client of the spec would. Every route the
// sandbox serves answered at least once.
func TestEveryAnswerConforms(t *testing.T) {
	h := New(generatedSite(t))
	nodes, err := h.LayNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	v := &validating{h: h, seen: map[string]bool{}}
	srv.Config.Handler = v
	srv.Start()
	defer srv.Close()
	v.sp = loadSpecs(t, srv.URL)
	walk(t, srv)
	for _, n := range nodes {
		if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/"+NodeKinds[n.Type]+"/"+n.ID, nil, false); status != http.StatusOK {
			t.Errorf("GET %s %s: %d", n.Type, n.ID, status)
		}
	}
	writeWalk(t, srv)
	checkRestrictionShape(t, srv, v.sp)
	conformanceRun(t, srv.URL)
	h.Roles = true // a role-based site's answers
	roleWalk(t, srv)
	h.Roles = false
	for _, b := range v.bad {
		t.Error(b)
	}
	var missed []string
	for _, r := range h.Routes() {
		if !v.seen[r] {
			missed = append(missed, r)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("routes no client exercised, so unchecked:\n  %s", strings.Join(missed, "\n  "))
	}
}

// client is a plain HTTP client of the sandbox that knows only the spec.
// It is an admin's, with an admin key (so that it may go on writing to
// a page it restricted to others).
type client struct {
	t   *testing.T
	srv *httptest.Server
}

func (c client) header(req *http.Request) {
	req.SetBasicAuth("writer@example.com", "token")
	req.Header.Set("X-Atlassian-Token", "no-check")
	req.Header.Set("Atl-Confluence-With-Admin-Key", "true")
}

func (c client) send(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	c.header(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		c.t.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return resp.StatusCode, out
}

func (c client) upload(method, path, name, content string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("minorEdit", "true")
	part, _ := mw.CreateFormFile("file", name)
	io.WriteString(part, content)
	mw.Close()
	req, _ := http.NewRequest(method, c.srv.URL+path, &buf)
	c.header(req)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		c.t.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
}

// writeWalk sends every write the sandbox serves that ferry's own run
// does not, with the bodies the spec describes, and reads back what needs
// a write first.
func writeWalk(t *testing.T, srv *httptest.Server) {
	c := client{t, srv}
	c.send(http.MethodPost, "/wiki/api/v2/admin-key", map[string]any{"durationInMinutes": 30})
	_, spaces := c.send(http.MethodGet, "/wiki/api/v2/spaces", nil)
	rs := spaces["results"].([]any)
	space := rs[0].(map[string]any)
	spaceID, key := fmt.Sprint(space["id"]), fmt.Sprint(space["key"])
	_, pages := c.send(http.MethodGet, "/wiki/api/v2/pages?space-id="+spaceID, nil)
	page := fmt.Sprint(pages["results"].([]any)[0].(map[string]any)["id"])
	body := map[string]any{"representation": "storage", "value": "<p>walker text to comment on</p>"}

	_, blog := c.send(http.MethodPost, "/wiki/api/v2/blogposts", map[string]any{"spaceId": spaceID, "status": "current", "title": "Walker's post", "body": body})
	blogID := fmt.Sprint(blog["id"])
	c.send(http.MethodPut, "/wiki/api/v2/blogposts/"+blogID, map[string]any{"id": blogID, "status": "current", "title": "Walker's post, edited", "body": body,
		"version": map[string]any{"number": 2, "message": "edited"}})
	_, prop := c.send(http.MethodPost, "/wiki/api/v2/blogposts/"+blogID+"/properties", map[string]any{"key": "walker", "value": map[string]any{"a": 1}})
	c.send(http.MethodDelete, "/wiki/api/v2/blogposts/"+blogID+"/properties/"+fmt.Sprint(prop["id"]), nil)

	if _, conv := c.send(http.MethodPost, "/wiki/rest/api/contentbody/convert/storage", map[string]string{"value": "h1. Walker\n\n*bold* text", "representation": "wiki"}); conv["value"] != "<h1>Walker</h1><p><strong>bold</strong> text</p>" {
		t.Errorf("wiki converted: %v", conv["value"])
	}
	if _, acc := c.send(http.MethodPost, "/wiki/api/v2/user/access/check-access-by-email", map[string]any{"emails": []string{"walker@example.org", "walker"}}); len(acc["invalidEmails"].([]any)) != 1 {
		t.Errorf("access check: %v", acc)
	}
	c.send(http.MethodPost, "/wiki/api/v2/user/access/invite-by-email", map[string]any{"emails": []string{"walker@example.org"}})
	_, sprop := c.send(http.MethodPost, "/wiki/api/v2/spaces/"+spaceID+"/properties", map[string]any{"key": "walker", "value": map[string]any{"a": 1}})
	spropID := fmt.Sprint(sprop["id"])
	c.send(http.MethodGet, "/wiki/api/v2/spaces/"+spaceID+"/properties?key=walker", nil)
	c.send(http.MethodPut, "/wiki/api/v2/spaces/"+spaceID+"/properties/"+spropID, map[string]any{"key": "walker", "value": map[string]any{"a": 2},
		"version": map[string]any{"number": 2, "message": "walked"}})
	if _, got := c.send(http.MethodGet, "/wiki/api/v2/spaces/"+spaceID+"/properties/"+spropID, nil); fmt.Sprint(got["value"]) != "map[a:2]" || fmt.Sprint(got["version"].(map[string]any)["number"]) != "2" {
		t.Errorf("a space property after its update: %v", got)
	}
	c.send(http.MethodDelete, "/wiki/api/v2/spaces/"+spaceID+"/properties/"+spropID, nil)

	_, footer := c.send(http.MethodPost, "/wiki/api/v2/footer-comments", map[string]any{"pageId": page, "body": body})
	footerID := fmt.Sprint(footer["id"])
	c.send(http.MethodPut, "/wiki/api/v2/footer-comments/"+footerID, map[string]any{"version": map[string]any{"number": 2}, "body": body})
	c.send(http.MethodPost, "/wiki/api/v2/comments/"+footerID+"/properties", map[string]any{"key": "walker", "value": "x"})
	// The selection is text of the page's current body (rule 26).
	_, current := c.send(http.MethodGet, "/wiki/api/v2/pages/"+page+"?body-format=storage", nil)
	storage := current["body"].(map[string]any)["storage"].(map[string]any)["value"].(string)
	selection := strings.Fields(model.BodyText(storage))[0]
	_, inline := c.send(http.MethodPost, "/wiki/api/v2/inline-comments", map[string]any{"pageId": page, "body": body,
		"inlineCommentProperties": map[string]any{"textSelection": selection, "textSelectionMatchCount": model.Occurrences(storage, selection), "textSelectionMatchIndex": 0}})
	inlineID := fmt.Sprint(inline["id"])
	c.send(http.MethodPut, "/wiki/api/v2/inline-comments/"+inlineID, map[string]any{"version": map[string]any{"number": 2}, "body": body})
	for _, path := range []string{"", "/children", "/versions"} {
		c.send(http.MethodGet, "/wiki/api/v2/inline-comments/"+inlineID+path, nil)
	}

	c.upload(http.MethodPost, "/wiki/rest/api/content/"+page+"/child/attachment", "walker.txt", "walker's file")

	_, folder := c.send(http.MethodPost, "/wiki/api/v2/folders", map[string]any{"spaceId": spaceID, "title": "Walker's folder", "parentId": page})
	folderID := fmt.Sprint(folder["id"])
	_, inFolder := c.send(http.MethodPost, "/wiki/api/v2/folders", map[string]any{"spaceId": spaceID, "title": "Walker's inner folder", "parentId": folderID})
	if inFolder["parentType"] != "folder" || inFolder["parentId"] != folderID {
		c.t.Errorf("a folder in a folder: %v", inFolder)
	}
	c.send(http.MethodGet, "/wiki/api/v2/folders/"+folderID, nil)
	if _, kids := c.send(http.MethodGet, "/wiki/api/v2/folders/"+folderID+"/direct-children", nil); len(resultsOf(kids)) != 1 {
		c.t.Errorf("the folder's direct children: %v", kids)
	}
	if _, kids := c.send(http.MethodGet, "/wiki/api/v2/pages/"+page+"/direct-children", nil); !slices.Contains(resultsOf(kids), folderID) {
		c.t.Errorf("the page's direct children %v lack folder %s", kids, folderID)
	}
	c.send(http.MethodPost, "/wiki/api/v2/folders/"+folderID+"/properties", map[string]any{"key": "walker", "value": map[string]any{"c": 3}})
	c.send(http.MethodGet, "/wiki/api/v2/folders/"+folderID+"/properties?key=walker", nil)
	c.send(http.MethodDelete, "/wiki/api/v2/folders/"+fmt.Sprint(inFolder["id"]), nil)

	_, groups := c.send(http.MethodGet, "/wiki/rest/api/group", nil)
	group := fmt.Sprint(groups["results"].([]any)[0].(map[string]any)["id"])
	_, members := c.send(http.MethodGet, "/wiki/rest/api/group/"+group+"/membersByGroupId", nil)
	user := fmt.Sprint(members["results"].([]any)[0].(map[string]any)["accountId"])
	c.send(http.MethodPost, "/wiki/rest/api/group/userByGroupId?groupId="+group, map[string]any{"accountId": user})
	c.send(http.MethodDelete, "/wiki/rest/api/group/userByGroupId?groupId="+group+"&accountId="+url.QueryEscape(user), nil)

	c.send(http.MethodPost, "/wiki/rest/api/space/"+key+"/property", map[string]any{"key": "walker", "value": map[string]any{"b": 2}})
	c.send(http.MethodGet, "/wiki/rest/api/space/"+key+"/property/walker", nil)

	restrict := "/wiki/rest/api/content/" + page + "/restriction/byOperation/read"
	c.send(http.MethodPut, restrict+"/user?accountId="+url.QueryEscape(user), nil)
	c.send(http.MethodGet, restrict+"/user?accountId="+url.QueryEscape(user), nil)
	c.send(http.MethodPut, restrict+"/byGroupId/"+group, nil)
	c.send(http.MethodGet, restrict+"/byGroupId/"+group, nil)
	c.send(http.MethodDelete, restrict+"/user?accountId="+url.QueryEscape(user), nil)

	c.send(http.MethodDelete, "/wiki/api/v2/footer-comments/"+footerID, nil)
	c.send(http.MethodDelete, "/wiki/api/v2/inline-comments/"+inlineID, nil)
	c.send(http.MethodDelete, "/wiki/api/v2/blogposts/"+blogID, nil)
	c.send(http.MethodGet, "/wiki/api/v2/admin-key", nil)
	c.send(http.MethodDelete, "/wiki/api/v2/admin-key", nil)
}

// Each operation of a restriction answer is a ContentRestriction: with
// _expandable and _links, as Cloud sends them and the v1 spec requires.
// (The spec's own schema of the whole answer names a property
// "operationType" and so checks nothing.)
func checkRestrictionShape(t *testing.T, srv *httptest.Server, sp *specs) {
	c := client{t, srv}
	_, pages := c.send(http.MethodGet, "/wiki/api/v2/pages", nil)
	page := fmt.Sprint(pages["results"].([]any)[0].(map[string]any)["id"])
	_, out := c.send(http.MethodGet, "/wiki/rest/api/content/"+page+"/restriction/byOperation", nil)
	schema := sp.v1doc.Components.Schemas["ContentRestriction"].Value
	for _, op := range []string{"read", "update"} {
		if err := schema.VisitJSON(out[op]); err != nil {
			t.Errorf("restriction operation %s: %v", op, err)
		}
	}
}

// roleWalk creates a space on a role-based site and sets a role in it.
func roleWalk(t *testing.T, srv *httptest.Server) {
	c := client{t, srv}
	c.send(http.MethodGet, "/wiki/api/v2/space-role-mode", nil)
	c.send(http.MethodGet, "/wiki/api/v2/space-roles", nil)
	admin := map[string]any{"principal": map[string]string{"principalType": "USER", "principalId": CallerAccount}, "roleId": "admin"}
	_, sp := c.send(http.MethodPost, "/wiki/api/v2/spaces", map[string]any{"key": "WALKROLES", "name": "Walker's roles", "roleAssignments": []any{admin}})
	id := fmt.Sprint(sp["id"])
	c.send(http.MethodPost, "/wiki/api/v2/spaces/"+id+"/role-assignments", []any{admin})
	c.send(http.MethodGet, "/wiki/api/v2/spaces/"+id+"/role-assignments", nil)
}
