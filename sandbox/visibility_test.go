package sandbox

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/clock"
)

// call sends a request as an admin's client would, with basic auth and,
// when key, the admin key header.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, key bool) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.SetBasicAuth("admin@example.com", "token")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key {
		req.Header.Set("Atl-Confluence-With-Admin-Key", "true")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// walkAll lists a v2 list to its end, one result a page, and answers the
// ids and how many pages came back empty with a next link.
func walkAll(t *testing.T, srv *httptest.Server, path string, key bool) (ids []string, empty int) {
	t.Helper()
	for next := path; next != ""; {
		status, out := call(t, srv, http.MethodGet, next, nil, key)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", next, status)
		}
		ids = append(ids, resultField(out, "id")...)
		links, _ := out["_links"].(map[string]any)
		next, _ = links["next"].(string)
		if len(resultField(out, "id")) == 0 && next != "" {
			empty++
		}
		if len(ids) > 10000 {
			t.Fatal("the list does not end")
		}
	}
	return ids, empty
}

// Rule: restricted spaces and pages are invisible to a site admin without
// an admin key: absent from lists (which page short, even empty, and go
// on), 404 by id, with everything in them; a parent's read restriction
// hides its children. An admin key (POST /admin-key, then the header on
// every call) shows everything. A key lasts 10 minutes unless asked for
// up to 60; past its end, or given back, the header is not refused: the
// calls see less again. A site without keys answers 404; OAuth callers
// 401.
func TestRuleRestrictedContentNeedsAnAdminKey(t *testing.T) {
	site := generatedSite(t)
	hid, err := Restrict(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	space, pages := hid.Space, hid.Pages
	h := New(site)
	fast := clock.Clock{Scale: 1e-4} // 10 minutes in 60 ms
	h.Clock = fast
	srv := httptest.NewServer(h)
	defer srv.Close()

	spacesWithout, _ := walkAll(t, srv, "/wiki/api/v2/spaces?limit=1", false)
	pagesWithout, empty := walkAll(t, srv, "/wiki/api/v2/pages?limit=1", false)
	if slices.Contains(spacesWithout, space) || len(spacesWithout) == 0 {
		t.Errorf("without a key, the spaces listed are %v: want all but %s", spacesWithout, space)
	}
	for _, p := range pages {
		if slices.Contains(pagesWithout, p) {
			t.Errorf("without a key, restricted page %s (or a child of it) is listed", p)
		}
		for _, path := range []string{"/wiki/api/v2/pages/" + p, "/wiki/api/v2/pages/" + p + "/footer-comments", "/wiki/rest/api/content/" + p + "/restriction/byOperation"} {
			if status, _ := call(t, srv, http.MethodGet, path, nil, false); status != http.StatusNotFound {
				t.Errorf("without a key, GET %s answers %d, want 404", path, status)
			}
		}
	}
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/spaces/"+space+"/permissions", nil, false); status != http.StatusNotFound {
		t.Errorf("without a key, the hidden space's permissions answer %d", status)
	}
	if empty == 0 {
		t.Errorf("no page of the list came back empty with a next link: the rule of short pages is not exercised")
	}

	if status, out := call(t, srv, http.MethodPost, "/wiki/api/v2/admin-key", map[string]int{"durationInMinutes": 61}, false); status != http.StatusBadRequest {
		t.Errorf("a key of 61 minutes: %d %v", status, out)
	}
	status, out := call(t, srv, http.MethodPost, "/wiki/api/v2/admin-key", map[string]int{"durationInMinutes": 60}, false)
	if status != http.StatusOK {
		t.Fatalf("POST /admin-key: %d %v", status, out)
	}
	until, err := time.Parse(time.RFC3339, out["expirationTime"].(string))
	if err != nil || until.Sub(fast.Now()) < 59*time.Minute || until.Sub(fast.Now()) > 61*time.Minute {
		t.Errorf("a key of 60 minutes ends at %v (now %v): %v", until, fast.Now(), err)
	}
	spacesWith, _ := walkAll(t, srv, "/wiki/api/v2/spaces?limit=1", true)
	pagesWith, _ := walkAll(t, srv, "/wiki/api/v2/pages?limit=1", true)
	if !slices.Contains(spacesWith, space) || len(spacesWith) != len(spacesWithout)+1 {
		t.Errorf("with a key, the spaces listed are %v", spacesWith)
	}
	var all int
	site.DB().QueryRow(`SELECT count(*) FROM content WHERE type = 'page' AND deleted_rev IS NULL AND status IN ('current', 'archived')`).Scan(&all)
	if len(pagesWith) != all {
		t.Errorf("with a key, %d pages listed of %d", len(pagesWith), all)
	}
	for _, p := range pages {
		if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+p, nil, true); status != http.StatusOK {
			t.Errorf("with a key, GET page %s: %d", p, status)
		}
	}
	// Without the header, the key does nothing.
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+pages[0], nil, false); status != http.StatusNotFound {
		t.Errorf("a key, without the header: %d", status)
	}

	// A key given back, or past its end: the header is not refused, the
	// calls see less.
	if status, _ := call(t, srv, http.MethodDelete, "/wiki/api/v2/admin-key", nil, false); status != http.StatusNoContent {
		t.Errorf("DELETE /admin-key: %d", status)
	}
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+pages[0], nil, true); status != http.StatusNotFound {
		t.Errorf("the header after the key was given back: %d, want 404", status)
	}
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/admin-key", nil, false); status != http.StatusNotFound {
		t.Errorf("GET /admin-key with none: %d", status)
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/admin-key", nil, false); status != http.StatusOK {
		t.Fatalf("POST /admin-key with no body: %d", status)
	}
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+pages[0], nil, true); status != http.StatusOK {
		t.Errorf("a fresh key: %d", status)
	}
	time.Sleep(fast.Real(11 * time.Minute)) // the default key lasts 10
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+pages[0], nil, true); status != http.StatusNotFound {
		t.Errorf("the header past the key's end: %d, want 404", status)
	}

	h.NoAdminKey = true
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/admin-key", nil, false); status != http.StatusNotFound {
		t.Errorf("POST /admin-key on a site without keys: %d", status)
	}
	h.NoAdminKey = false
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wiki/api/v2/admin-key", nil)
	req.Header.Set("Authorization", "Bearer oauth-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /admin-key with an OAuth token: %d", resp.StatusCode)
	}
}

// Rule: a page's parent can be a page, folder, whiteboard, database or
// Smart Link (embed), each read at its own collection; a node is not
// found at another kind's.
func TestRuleTreeHoldsMoreThanPages(t *testing.T) {
	h := New(generatedSite(t))
	nodes, err := h.LayNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, out := call(t, srv, http.MethodGet, "/wiki/api/v2/pages?limit=250", nil, true)
	parents := map[string]int{}
	folder := ""
	for _, r := range out["results"].([]any) {
		if pt, ok := r.(map[string]any)["parentType"].(string); ok {
			parents[pt]++
			if pt == "folder" {
				folder = r.(map[string]any)["parentId"].(string)
			}
		}
	}
	if folder != "" {
		status, got := call(t, srv, http.MethodGet, "/wiki/api/v2/folders/"+folder, nil, true)
		if status != http.StatusOK || got["type"] != "folder" || got["title"] == "" {
			t.Errorf("GET folder %s: %d %v", folder, status, got)
		}
		if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+folder, nil, true); status != http.StatusNotFound {
			t.Errorf("folder %s at /pages: %d", folder, status)
		}
		for _, r := range out["results"].([]any) {
			if r.(map[string]any)["id"] == folder {
				t.Errorf("the pages list holds folder %s", folder)
			}
		}
		if status, _ := call(t, srv, http.MethodPut, "/wiki/api/v2/folders/"+folder, map[string]any{"title": "renamed"}, true); status != http.StatusMethodNotAllowed {
			t.Errorf("PUT a folder: %d, want 405 (v2 cannot rename a folder)", status)
		}
	}
	for _, kind := range []string{"page", "folder", "whiteboard", "database", "embed"} {
		if parents[kind] == 0 {
			t.Errorf("no page answers parentType %s: %v", kind, parents)
		}
	}
	for _, n := range nodes {
		status, got := call(t, srv, http.MethodGet, "/wiki/api/v2/"+NodeKinds[n.Type]+"/"+n.ID, nil, false)
		if status != http.StatusOK || got["type"] != n.Type || got["title"] != n.Title {
			t.Errorf("GET %s %s: %d %v", n.Type, n.ID, status, got)
		}
		if n.ParentID != "" && (got["parentId"] != n.ParentID || got["parentType"] != n.ParentType) {
			t.Errorf("%s %s: parent %v %v", n.Type, n.ID, got["parentId"], got["parentType"])
		}
		other := "folders"
		if n.Type == "folder" {
			other = "whiteboards"
		}
		if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/"+other+"/"+n.ID, nil, false); status != http.StatusNotFound {
			t.Errorf("%s %s at /%s: %d", n.Type, n.ID, other, status)
		}
	}
}

// Rule: v2 reads in bulk. GET /pages/{id} with include-labels,
// include-properties, include-versions and include-likes brings the first
// 50 of each, with meta.hasMore, meta.cursor and _links.self for the rest;
// the site's /footer-comments, /inline-comments and /attachments list
// every one there is (replies too, naming their page or blog post and their
// parent), and nothing the caller may not see.
func TestRuleBulkReads(t *testing.T) {
	site := generatedSite(t)
	hid, err := Restrict(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(site))
	defer srv.Close()
	var page string
	site.DB().QueryRow(`SELECT c.rowid FROM content c WHERE c.type = 'page' AND c.deleted_rev IS NULL AND c.status = 'current'
		AND c.space_id IN (SELECT id FROM spaces WHERE rowid != ?) AND c.rowid NOT IN (`+strings.Repeat("?,", len(hid.Pages))+`0)
		AND (SELECT count(*) FROM content_versions WHERE content_id = c.id) > 1 ORDER BY c.rowid LIMIT 1`,
		append([]any{hid.Space}, anySlice(hid.Pages)...)...).Scan(&page)
	if page == "" {
		t.Fatal("no visible page with versions")
	}
	var labels []map[string]string
	for i := 0; i < 60; i++ {
		labels = append(labels, map[string]string{"prefix": "global", "name": fmt.Sprintf("bulk-%02d", i)})
	}
	if status, out := call(t, srv, http.MethodPost, "/wiki/rest/api/content/"+page+"/label", labels, true); status != http.StatusOK {
		t.Fatalf("adding labels: %d %v", status, out)
	}
	status, out := call(t, srv, http.MethodGet, "/wiki/api/v2/pages/"+page+"?include-labels=true&include-properties=true&include-versions=true&include-likes=true", nil, false)
	if status != http.StatusOK {
		t.Fatalf("GET page with includes: %d", status)
	}
	for _, field := range []string{"labels", "properties", "versions", "likes"} {
		inc, _ := out[field].(map[string]any)
		list := map[string]string{"labels": "labels", "properties": "properties", "versions": "versions", "likes": "likes/users"}[field]
		all, _ := walkAll(t, srv, "/wiki/api/v2/pages/"+page+"/"+list+"?limit=250", false)
		results, _ := inc["results"].([]any)
		meta, _ := inc["meta"].(map[string]any)
		links, _ := inc["_links"].(map[string]any)
		want := min(len(all), 50)
		if inc == nil || len(results) != want || meta["hasMore"] != (want == 50 && len(all) > 50) || links["self"] == "" {
			t.Errorf("include-%s: %d results, meta %v, links %v; the list has %d", field, len(results), meta, links, len(all))
		}
	}
	if labels := out["labels"].(map[string]any); labels["meta"].(map[string]any)["cursor"] == "" {
		t.Error("include-labels with more to come gives no cursor")
	}

	// v1's space content, restrictions expanded: current pages by id, only
	// those the caller may view, each with what byOperation answers.
	const expand = "&expand=restrictions.read.restrictions.user,restrictions.read.restrictions.group,restrictions.update.restrictions.user,restrictions.update.restrictions.group"
	if status, _ := call(t, srv, http.MethodGet, "/wiki/rest/api/space/"+hid.SpaceKey+"/content/page?limit=5"+expand, nil, false); status != http.StatusNotFound {
		t.Errorf("v1 content of a space the caller may not read: %d, want 404", status)
	}
	var keys []string
	rows, _ := site.DB().Query(`SELECT key FROM spaces WHERE deleted_rev IS NULL AND rowid != ?`, hid.Space)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	listed := 0
	for _, key := range keys {
		for next := "/wiki/rest/api/space/" + key + "/content/page?limit=5" + expand; next != ""; {
			status, out := call(t, srv, http.MethodGet, next, nil, false)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", next, status)
			}
			for _, r := range out["results"].([]any) {
				m := r.(map[string]any)
				id := m["id"].(string)
				listed++
				if slices.Contains(hid.Pages, id) {
					t.Errorf("v1 space content lists restricted page %s", id)
				}
				_, byOp := call(t, srv, http.MethodGet, "/wiki/rest/api/content/"+id+"/restriction/byOperation", nil, false)
				delete(byOp, "_links")
				got, _ := json.Marshal(m["restrictions"].(map[string]any)["read"])
				want, _ := json.Marshal(byOp["read"])
				if string(got) != string(want) {
					t.Errorf("page %s: expanded read restrictions %s, byOperation %s", id, got, want)
				}
			}
			links, _ := out["_links"].(map[string]any)
			next, _ = links["next"].(string)
			if next != "" {
				next = "/wiki" + next
			}
		}
	}
	want := countOf(t, site, `SELECT count(*) FROM content WHERE type = 'page' AND status = 'current' AND deleted_rev IS NULL AND space_id IN (SELECT id FROM spaces WHERE rowid != ?)`, hid.Space)
	if listed == 0 || listed+len(hid.Pages) < want || listed >= want {
		t.Errorf("v1 space content listed %d pages; %d current outside the hidden space, %d of them restricted", listed, want, len(hid.Pages))
	}

	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/admin-key", nil, false); status != http.StatusOK {
		t.Fatalf("POST /admin-key: %d", status)
	}
	// A comment read at a version it does not have: 404.
	var comment string
	site.DB().QueryRow(`SELECT rowid FROM comments WHERE location = 'footer' AND deleted_rev IS NULL ORDER BY rowid LIMIT 1`).Scan(&comment)
	if status, out := call(t, srv, http.MethodGet, "/wiki/api/v2/footer-comments/"+comment+"?version=1&body-format=storage", nil, true); status != http.StatusOK || out["version"].(map[string]any)["number"] != 1.0 {
		t.Errorf("a comment at version 1: %d %v", status, out["version"])
	}
	if status, _ := call(t, srv, http.MethodGet, "/wiki/api/v2/footer-comments/"+comment+"?version=99", nil, true); status != http.StatusNotFound {
		t.Errorf("a comment at a version it does not have: %d, want 404", status)
	}

	var seenWith, seenWithout int
	for _, c := range []struct{ list, count string }{
		{"/wiki/api/v2/footer-comments?limit=7&body-format=storage", `SELECT count(*) FROM comments WHERE location = 'footer' AND deleted_rev IS NULL`},
		{"/wiki/api/v2/inline-comments?limit=7&sort=-created-date", `SELECT count(*) FROM comments WHERE location = 'inline' AND deleted_rev IS NULL`},
		{"/wiki/api/v2/attachments?limit=7", `SELECT count(*) FROM attachments a JOIN content c ON c.id = a.container_id WHERE a.deleted_rev IS NULL AND c.type IN ('page', 'blogpost')`},
	} {
		with, _ := walkAll(t, srv, c.list, true)
		without, _ := walkAll(t, srv, c.list, false)
		if n := countOf(t, site, c.count); len(with) != n || len(without) > n {
			t.Errorf("%s: %d listed with a key, %d without, of %d", c.list, len(with), len(without), n)
		}
		seenWith, seenWithout = seenWith+len(with), seenWithout+len(without)
	}
	if seenWithout >= seenWith {
		t.Errorf("without a key, %d comments and attachments listed, with one %d: restricted content's are not left out", seenWithout, seenWith)
	}
	_, out = call(t, srv, http.MethodGet, "/wiki/api/v2/footer-comments?limit=250", nil, true)
	replies := 0
	for _, r := range out["results"].([]any) {
		m := r.(map[string]any)
		if m["pageId"] == nil && m["blogPostId"] == nil {
			t.Errorf("comment %v names no page or blog post", m["id"])
		}
		if m["parentCommentId"] != nil {
			replies++
		}
	}
	if replies == 0 {
		t.Error("the site's footer comments list no reply")
	}
}

func countOf(t *testing.T, site interface{ DB() *sql.DB }, q string, args ...any) int {
	t.Helper()
	var n int
	if err := site.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
