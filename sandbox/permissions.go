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
	out := map[string]any{}
	for _, op := range []string{"read", "update"} {
		users, groups := []any{}, []any{}
		if !s.query(w, `SELECT principal_type, principal_id FROM restrictions WHERE container_id = ? AND operation = ? AND deleted_rev IS NULL ORDER BY 1, 2`,
			[]any{id, op}, func(rows *sql.Rows) error {
				var ptype, pid string
				if err := rows.Scan(&ptype, &pid); err != nil {
					return err
				}
				if ptype == "user" {
					users = append(users, map[string]any{"type": "known", "accountId": pid})
				} else {
					name, _ := s.one(`SELECT name FROM groups WHERE id = ?`, pid)
					groups = append(groups, map[string]any{"type": "group", "id": pid, "name": name})
				}
				return nil
			}) {
			return
		}
		// Each operation is a ContentRestriction, which requires
		// _expandable and _links (v1 spec), as Cloud sends them.
		self := siteBase(r) + "/rest/api/content/" + r.PathValue("id") + "/restriction/byOperation/" + op
		out[op] = map[string]any{"operation": op, "restrictions": map[string]any{
			"user":  map[string]any{"results": users, "start": 0, "limit": 200, "size": len(users)},
			"group": map[string]any{"results": groups, "start": 0, "limit": 200, "size": len(groups)}},
			"_expandable": map[string]any{"content": "/rest/api/content/" + r.PathValue("id")},
			"_links":      map[string]any{"self": self, "base": siteBase(r), "context": "/wiki"}}
	}
	out["_links"] = map[string]any{"base": siteBase(r), "context": "/wiki"}
	writeJSON(w, out)
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
	links := map[string]any{"base": siteBase(r), "context": "/wiki", "self": siteBase(r) + strings.TrimPrefix(r.URL.Path, "/wiki")}
	if len(results) == limit {
		links["next"] = fmt.Sprintf("%s?next=true&limit=%d&start=%d", strings.TrimPrefix(r.URL.Path, "/wiki"), limit, start+limit)
	}
	if results == nil {
		results = []any{}
	}
	writeJSON(w, map[string]any{"results": results, "start": start, "limit": limit, "size": len(results), "_links": links})
}
