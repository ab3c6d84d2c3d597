package sandbox

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
)

// Includes on GET /pages/{id} and /blogposts/{id} (v2 spec, PageSingle and
// BlogPostSingle): include-labels, include-properties, include-versions and
// include-likes each add the first 50 of that list to the answer, with
// meta.hasMore and meta.cursor, and _links.self for the rest.

// includeLimit is how many of a list an include brings (v2 spec: "limited
// to 50").
const includeLimit = 50

// includes adds to v the lists the request asks to include.
func (s *Server) includes(kind, id string, r *http.Request, v map[string]any) {
	path := "/wiki/api/v2/" + kind + "s/" + id
	for _, inc := range []struct {
		param, field, list string
		h                  http.HandlerFunc
	}{
		{"include-labels", "labels", "/labels", s.labels(kind)},
		{"include-properties", "properties", "/properties", s.properties(kind)},
		{"include-versions", "versions", "/versions", s.versions(kind)},
		{"include-likes", "likes", "/likes/users", s.likeUsers(kind)},
	} {
		if r.URL.Query().Get(inc.param) != "true" {
			continue
		}
		sub := r.Clone(r.Context())
		sub.URL = &url.URL{Path: path + inc.list, RawQuery: "limit=" + strconv.Itoa(includeLimit)}
		sub.SetPathValue("id", id)
		rec := httptest.NewRecorder()
		inc.h(rec, sub)
		var page struct {
			Results []json.RawMessage `json:"results"`
			Links   struct {
				Next string `json:"next"`
			} `json:"_links"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			continue
		}
		meta := map[string]any{"hasMore": page.Links.Next != ""}
		if next, err := url.Parse(page.Links.Next); err == nil && page.Links.Next != "" {
			meta["cursor"] = next.Query().Get("cursor")
		}
		if page.Results == nil {
			page.Results = []json.RawMessage{}
		}
		v[inc.field] = map[string]any{"results": page.Results, "meta": meta, "_links": map[string]any{"self": path + inc.list}}
	}
}

// likeUsers lists the accounts that like a page or blog post (v2:
// GET /pages/{id}/likes/users, MultiEntityResult of Like).
func (s *Server) likeUsers(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT account_id, n FROM (SELECT l.account_id, row_number() OVER (ORDER BY l.account_id) AS n
				FROM likes l JOIN content c ON c.id = l.container_id
				WHERE c.rowid = ? AND c.type = ? AND l.container_type = ? AND l.deleted_rev IS NULL) WHERE n > ? ORDER BY n LIMIT ?`,
				[]any{r.PathValue("id"), kind, kind, after, limit}
		}, func(rows *sql.Rows) (any, string, error) {
			var account string
			var n int64
			if err := rows.Scan(&account, &n); err != nil {
				return nil, "", err
			}
			return map[string]any{"accountId": account}, strconv.FormatInt(n, 10), nil
		})
	}
}
