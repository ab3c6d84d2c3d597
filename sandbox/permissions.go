package sandbox

import (
	"database/sql"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
)

// Space permissions (v2), and groups with their members (v1, which v2
// lacks).

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/spaces/{id}/permissions", s.spacePermissions)
		s.handle("GET /wiki/rest/api/group", s.groupList)
		s.handle("GET /wiki/rest/api/group/by-id", s.groupByID)
		s.handle("GET /wiki/rest/api/group/{groupId}/membersByGroupId", s.groupMembers)
	})
}

func numericID(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

// spacePermissions lists a space's permissions. Cloud names no anonymous
// principal in v2, so anonymous grants are not listed.
func (s *Server) spacePermissions(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := listArgs(w, r)
	if !ok {
		return
	}
	var results []any
	n := after
	if !s.query(w, `SELECT p.id, p.principal_type, coalesce(p.principal_id, ''), p.operation FROM space_permissions p JOIN spaces sp ON sp.id = p.space_id
		WHERE sp.rowid = ? AND p.deleted_rev IS NULL AND p.principal_type != 'anonymous' ORDER BY p.id LIMIT ? OFFSET ?`,
		[]any{r.PathValue("id"), limit, after}, func(rows *sql.Rows) error {
			var id, ptype, pid, op string
			if err := rows.Scan(&id, &ptype, &pid, &op); err != nil {
				return err
			}
			key, target, _ := strings.Cut(op, ":")
			results = append(results, map[string]any{"id": numericID(id), "principal": map[string]any{"type": ptype, "id": pid},
				"operation": map[string]any{"key": key, "targetType": target}})
			n++
			return nil
		}) {
		return
	}
	writePage(w, r, results, strconv.FormatInt(n, 10), limit)
}

func (s *Server) groupByID(w http.ResponseWriter, r *http.Request) {
	name, ok := s.one(`SELECT name FROM groups WHERE id = ? AND deleted_rev IS NULL`, r.URL.Query().Get("id"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No group with id "+r.URL.Query().Get("id"))
		return
	}
	writeJSON(w, map[string]any{"type": "group", "name": name, "id": r.URL.Query().Get("id")})
}

// groupMembers pages through a group's members, v1 style (start, limit).
func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request) {
	start, limit := v1ListArgs(r)
	var results []any
	if !s.query(w, `SELECT m.account_id, u.display_name FROM memberships m JOIN users u ON u.account_id = m.account_id
		WHERE m.group_id = ? AND m.deleted_rev IS NULL ORDER BY m.account_id LIMIT ? OFFSET ?`,
		[]any{r.PathValue("groupId"), limit, start}, func(rows *sql.Rows) error {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			results = append(results, map[string]any{"type": "known", "accountId": id, "accountType": "atlassian", "displayName": name, "publicName": name})
			return nil
		}) {
		return
	}
	writeV1Page(w, r, results, start, limit)
}

// groupList pages through every group, v1 style.
func (s *Server) groupList(w http.ResponseWriter, r *http.Request) {
	start, limit := v1ListArgs(r)
	var results []any
	if !s.query(w, `SELECT id, name FROM groups WHERE deleted_rev IS NULL ORDER BY id LIMIT ? OFFSET ?`, []any{limit, start}, func(rows *sql.Rows) error {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		results = append(results, map[string]any{"type": "group", "name": name, "id": id})
		return nil
	}) {
		return
	}
	writeV1Page(w, r, results, start, limit)
}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/rest/api/content/{id}/restriction/byOperation", s.restrictions)
		s.handle("GET /wiki/rest/api/space/{key}/content/{type}", s.spaceContent)
	})
}

// restrictions answers a page's or blog post's read and update
// restrictions, v1 style: per operation, the users and groups.
func (s *Server) restrictions(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No content with id "+r.PathValue("id"))
		return
	}
	out, err := s.restrictionsOf(r, r.PathValue("id"), id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	writeJSON(w, out)
}

// restrictionsOf is content's restrictions by operation, as v1 answers
// them at /restriction/byOperation and in a content's restrictions
// expansion.
func (s *Server) restrictionsOf(r *http.Request, rowid, id string) (map[string]any, error) {
	out := map[string]any{}
	for _, op := range []string{"read", "update"} {
		users, groups := []any{}, []any{}
		rows, err := s.site.DB().Query(`SELECT r.principal_type, r.principal_id, coalesce(g.name, '') FROM restrictions r
			LEFT JOIN groups g ON g.id = r.principal_id AND r.principal_type = 'group'
			WHERE r.container_id = ? AND r.operation = ? AND r.deleted_rev IS NULL ORDER BY 1, 2`, id, op)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ptype, pid, name string
			if err := rows.Scan(&ptype, &pid, &name); err != nil {
				rows.Close()
				return nil, err
			}
			if ptype == "user" {
				users = append(users, map[string]any{"type": "known", "accountId": pid})
			} else {
				groups = append(groups, map[string]any{"type": "group", "id": pid, "name": name})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// Each operation is a ContentRestriction, which requires
		// _expandable and _links (v1 spec), as Cloud sends them.
		self := siteBase(r) + "/rest/api/content/" + rowid + "/restriction/byOperation/" + op
		out[op] = map[string]any{"operation": op, "restrictions": map[string]any{
			"user":  map[string]any{"results": users, "start": 0, "limit": 200, "size": len(users)},
			"group": map[string]any{"results": groups, "start": 0, "limit": 200, "size": len(groups)}},
			"_expandable": map[string]any{"content": "/rest/api/content/" + rowid},
			"_links":      map[string]any{"self": self, "base": siteBase(r), "context": "/wiki"}}
	}
	out["_links"] = map[string]any{"base": siteBase(r), "context": "/wiki"}
	return out, nil
}

// spaceContent lists a space's pages or blog posts, v1 style (GET
// /space/{spaceKey}/content/{type}): current ones, by id, only those the
// caller may view, depth all or root. Of the expansions, restrictions
// (restrictions.read.restrictions.user and the like) are served; others
// stay in _expandable.
func (s *Server) spaceContent(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if typ != "page" && typ != "blogpost" {
		writeV1Error(w, http.StatusBadRequest, "type: page or blogpost (the sandbox has no custom content)")
		return
	}
	spaceID, ok := s.one(`SELECT id FROM spaces WHERE key = ? AND deleted_rev IS NULL`, r.PathValue("key"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No space with key : "+r.PathValue("key"))
		return
	}
	depth := r.URL.Query().Get("depth")
	if depth != "" && depth != "all" && depth != "root" {
		writeV1Error(w, http.StatusBadRequest, "depth: all or root")
		return
	}
	expandRestrictions := false
	for _, e := range multi(r, "expand") {
		if e == "restrictions" || strings.HasPrefix(e, "restrictions.") {
			expandRestrictions = true
		}
	}
	start, limit := v1ListArgs(r)
	q := `SELECT c.rowid, c.id, v.title FROM content c JOIN content_versions v ON v.content_id = c.id
		AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id)
		WHERE c.space_id = ? AND c.type = ? AND c.status = 'current' AND c.deleted_rev IS NULL`
	if depth == "root" {
		q += ` AND c.parent_id IS NULL`
	}
	q += ` ORDER BY c.rowid LIMIT ? OFFSET ?`
	type row struct{ rowid, id, title string }
	var found []row
	if !s.query(w, q, []any{spaceID, typ, limit, start}, func(rows *sql.Rows) error {
		var x row
		if err := rows.Scan(&x.rowid, &x.id, &x.title); err != nil {
			return err
		}
		found = append(found, x)
		return nil
	}) {
		return
	}
	hid := s.hidden(r)
	results := make([]any, 0, len(found))
	for _, x := range found {
		if hid != nil && hid.content[x.rowid] {
			continue // a page the caller may not view: left out, the page of the list is short
		}
		c := map[string]any{"id": x.rowid, "type": typ, "status": "current", "title": x.title,
			"_expandable": map[string]any{"space": "/rest/api/space/" + r.PathValue("key"), "version": "", "history": "/rest/api/content/" + x.rowid + "/history"},
			"_links":      map[string]any{"webui": "/pages/" + x.rowid, "self": siteBase(r) + "/rest/api/content/" + x.rowid}}
		if expandRestrictions {
			rs, err := s.restrictionsOf(r, x.rowid, x.id)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
				return
			}
			c["restrictions"] = rs
		} else {
			c["_expandable"].(map[string]any)["restrictions"] = ""
		}
		results = append(results, c)
	}
	// Full when the query gave limit rows, though fewer are seen.
	writeV1List(w, r, results, start, limit, len(found) == limit)
}

// v1ListArgs reads v1 paging: start, and limit (at most 200).
func v1ListArgs(r *http.Request) (start, limit int) {
	start, _ = strconv.Atoi(r.URL.Query().Get("start"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 || limit > 200 {
		limit = 200
	}
	return max(start, 0), limit
}

// writeV1Page answers one page of a v1 list, with a next link when it is
// full. As Cloud's: _links.base is the site's /wiki, and next is relative
// to it ("/rest/api/group?next=true&limit=200&start=200"; the v1 spec's
// examples, pchuri/confluence-cli#168, salto-io/salto#6053).
func writeV1Page(w http.ResponseWriter, r *http.Request, results []any, start, limit int) {
	writeV1List(w, r, results, start, limit, len(results) == limit)
}

// writeV1List answers one page of a v1 list, with a next link if more may
// follow; the link keeps the request's other parameters (expand, depth).
func writeV1List(w http.ResponseWriter, r *http.Request, results []any, start, limit int, more bool) {
	links := map[string]any{"base": siteBase(r), "context": "/wiki", "self": siteBase(r) + strings.TrimPrefix(r.URL.Path, "/wiki")}
	if more {
		q := r.URL.Query()
		q.Del("next")
		q.Del("limit")
		q.Del("start")
		rest := ""
		if len(q) > 0 {
			rest = "&" + q.Encode()
		}
		links["next"] = fmt.Sprintf("%s?next=true&limit=%d&start=%d%s", strings.TrimPrefix(r.URL.Path, "/wiki"), limit, start+limit, rest)
	}
	if results == nil {
		results = []any{}
	}
	writeJSON(w, map[string]any{"results": results, "start": start, "limit": limit, "size": len(results), "_links": links})
}
