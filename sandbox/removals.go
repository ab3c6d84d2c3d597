package sandbox

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"

	"ferry/embedded"
	"ferry/model"
)

// Removals, moves and space updates: what an incremental import writes
// when the source deleted, moved or changed something.

func init() {
	extra = append(extra, func(s *Server) {
		for _, loc := range []string{"footer", "inline"} {
			s.handle("DELETE /wiki/api/v2/"+loc+"-comments/{id}", s.deleteComment(loc))
		}
		s.handle("DELETE /wiki/api/v2/attachments/{id}", s.deleteAttachment)
		for kind, path := range map[string]string{"page": "pages", "blogpost": "blogposts"} {
			s.handle("DELETE /wiki/api/v2/"+path+"/{id}/properties/{pid}", s.deleteProperty(kind))
		}
		s.handle("DELETE /wiki/rest/api/content/{id}/label", s.removeLabel)
		s.handle("DELETE /wiki/rest/api/content/{id}/restriction/byOperation/{op}/user", s.unrestrict("user"))
		s.handle("DELETE /wiki/rest/api/content/{id}/restriction/byOperation/{op}/byGroupId/{groupId}", s.unrestrict("group"))
		s.handle("DELETE /wiki/rest/api/group/userByGroupId", s.removeMember)
		s.handle("DELETE /wiki/rest/api/group/by-id", s.deleteGroup)
		s.handle("DELETE /wiki/rest/api/space/{key}/permission/{id}", s.revokePermission)
		s.handle("PUT /wiki/rest/api/space/{key}", s.updateSpace)
		s.handle("DELETE /wiki/rest/api/space/{key}", s.deleteSpace)
		s.handle("PUT /wiki/rest/api/content/{id}/move/{position}/{target}", s.move)
	})
}

// removed runs a removal and answers 204 (v1 restrictions: 200), 404 when
// there was nothing to remove, as Cloud does.
func (s *Server) removed(w http.ResponseWriter, r *http.Request, found bool, fn func(*embedded.Tx) error) {
	s.removedWith(w, r, found, http.StatusNoContent, fn)
}

func (s *Server) removedWith(w http.ResponseWriter, r *http.Request, found bool, status int, fn func(*embedded.Tx) error) {
	if !found {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	if err := s.update(r, fn); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", err.Error())
		return
	}
	w.WriteHeader(status)
}

func (s *Server) deleteComment(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.one(`SELECT id FROM comments WHERE rowid = ? AND location = ? AND deleted_rev IS NULL`, r.PathValue("id"), loc)
		s.removed(w, r, ok, func(tx *embedded.Tx) error { return tx.DeleteComment(id) })
	}
}

func (s *Server) deleteAttachment(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM attachments WHERE rowid = ? AND deleted_rev IS NULL`, attachmentRow(r.PathValue("id")))
	s.removed(w, r, ok, func(tx *embedded.Tx) error { return tx.DeleteAttachment(id) })
}

func (s *Server) deleteProperty(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = ? AND deleted_rev IS NULL`, r.PathValue("id"), kind)
		key, found := "", false
		if ok {
			rows, err := s.site.DB().Query(`SELECT key FROM properties WHERE container_id = ? AND deleted_rev IS NULL`, container)
			if err == nil {
				for rows.Next() {
					var k string
					rows.Scan(&k)
					if strconv.FormatInt(propertyID(container, k), 10) == r.PathValue("pid") {
						key, found = k, true
					}
				}
				rows.Close()
			}
		}
		s.removed(w, r, found, func(tx *embedded.Tx) error { return tx.DeleteProperty(container, key) })
	}
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	name := r.URL.Query().Get("name")
	prefix, found := "", false
	if ok {
		prefix, found = s.one(`SELECT prefix FROM labels WHERE container_id = ? AND name = ? AND deleted_rev IS NULL ORDER BY prefix LIMIT 1`, container, name)
	}
	s.removed(w, r, found, func(tx *embedded.Tx) error {
		return tx.RemoveLabel(model.Label{ContainerID: container, Prefix: prefix, Name: name})
	})
}

func (s *Server) unrestrict(principalType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
		principal := r.URL.Query().Get("accountId")
		if principalType == "group" {
			principal = r.PathValue("groupId")
		}
		rest := model.Restriction{ContainerID: container, Operation: r.PathValue("op"), PrincipalType: principalType, PrincipalID: principal}
		_, found := s.one(`SELECT 1 FROM restrictions WHERE container_id = ? AND operation = ? AND principal_type = ? AND principal_id = ? AND deleted_rev IS NULL`,
			container, rest.Operation, principalType, principal)
		s.removedWith(w, r, ok && found, http.StatusOK, func(tx *embedded.Tx) error { return tx.RemoveRestriction(rest) })
	}
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	m := model.Membership{GroupID: r.URL.Query().Get("groupId"), AccountID: r.URL.Query().Get("accountId")}
	_, found := s.one(`SELECT 1 FROM memberships WHERE group_id = ? AND account_id = ? AND deleted_rev IS NULL`, m.GroupID, m.AccountID)
	s.removed(w, r, found, func(tx *embedded.Tx) error { return tx.RemoveMembership(m) })
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	_, found := s.one(`SELECT id FROM groups WHERE id = ? AND deleted_rev IS NULL`, id)
	s.removed(w, r, found, func(tx *embedded.Tx) error {
		rows, err := tx.GroupMembers(id)
		if err != nil {
			return err
		}
		for _, account := range rows {
			if err := tx.RemoveMembership(model.Membership{GroupID: id, AccountID: account}); err != nil {
				return err
			}
		}
		return tx.DeleteGroup(id)
	})
}

func (s *Server) revokePermission(w http.ResponseWriter, r *http.Request) {
	if s.Roles {
		writeV1Error(w, http.StatusBadRequest, "This site manages space access with roles: assign roles at /wiki/api/v2/spaces/{id}/role-assignments")
		return
	}
	space, ok := s.one(`SELECT id FROM spaces WHERE key = ? AND deleted_rev IS NULL`, r.PathValue("key"))
	perm, found := "", false
	if ok {
		rows, err := s.site.DB().Query(`SELECT id FROM space_permissions WHERE space_id = ? AND deleted_rev IS NULL`, space)
		if err == nil {
			for rows.Next() {
				var id string
				rows.Scan(&id)
				if numericID(id) == r.PathValue("id") {
					perm, found = id, true
				}
			}
			rows.Close()
		}
	}
	s.removed(w, r, found, func(tx *embedded.Tx) error { return tx.RevokePermission(perm) })
}

// updateSpace changes a space's name and description (v1).
func (s *Server) updateSpace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string
		Description struct {
			Plain struct{ Value string }
		}
	}
	if !readBody(w, r, &req) {
		return
	}
	var sp model.Space
	var categories, settings, lookAndFeel, templates string
	err := s.site.DB().QueryRow(`SELECT id, key, name, type, status, description, coalesce(logo, ''), categories, coalesce(homepage, ''), settings, look_and_feel, templates
		FROM spaces WHERE key = ? AND deleted_rev IS NULL`, r.PathValue("key")).Scan(&sp.ID, &sp.Key, &sp.Name, &sp.Type, &sp.Status, &sp.Description,
		&sp.Logo, &categories, &sp.Homepage, &settings, &lookAndFeel, &templates)
	if err == sql.ErrNoRows {
		writeV1Error(w, http.StatusNotFound, "No space with key "+r.PathValue("key"))
		return
	} else if err != nil {
		writeV1Error(w, http.StatusInternalServerError, "query failed")
		return
	}
	unmarshal(categories, &sp.Categories)
	unmarshal(settings, &sp.Settings)
	unmarshal(lookAndFeel, &sp.LookAndFeel)
	unmarshal(templates, &sp.Templates)
	if req.Name != "" {
		sp.Name = req.Name
	}
	sp.Description = req.Description.Plain.Value
	if err := s.update(r, func(tx *embedded.Tx) error { return tx.UpdateSpace(sp) }); err != nil {
		writeV1Error(w, http.StatusInternalServerError, "update failed")
		return
	}
	row, _ := s.one(`SELECT rowid FROM spaces WHERE id = ?`, sp.ID)
	n, _ := strconv.ParseInt(row, 10, 64)
	writeJSON(w, map[string]any{"id": n, "key": sp.Key, "name": sp.Name, "type": sp.Type, "status": sp.Status,
		"_links": map[string]any{}, "_expandable": map[string]any{}})
}

// deleteSpace deletes a space with everything in it; Cloud does it as a
// long-running task, which this one finishes at once.
func (s *Server) deleteSpace(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM spaces WHERE key = ? AND deleted_rev IS NULL`, r.PathValue("key"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No space with key "+r.PathValue("key"))
		return
	}
	err := s.update(r, func(tx *embedded.Tx) error {
		// Children before parents: the deepest content first.
		rows, err := s.site.DB().Query(`WITH RECURSIVE tree(id, depth) AS (
			SELECT id, 0 FROM content WHERE space_id = ?1 AND parent_id IS NULL AND deleted_rev IS NULL
			UNION ALL SELECT c.id, t.depth + 1 FROM content c JOIN tree t ON c.parent_id = t.id WHERE c.deleted_rev IS NULL)
			SELECT id FROM tree ORDER BY depth DESC`, id)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			ids = append(ids, c)
		}
		rows.Close()
		for _, c := range ids {
			if err := tx.DeleteContent(c); err != nil {
				return err
			}
		}
		return tx.DeleteSpace(id)
	})
	if err != nil {
		writeV1Error(w, http.StatusInternalServerError, "delete failed: "+err.Error())
		return
	}
	writeJSONStatus(w, http.StatusAccepted, map[string]any{"id": "task-" + numericID(id), "links": map[string]any{"status": "/wiki/rest/api/longtask/task-" + numericID(id)}})
}

// move puts a page under a target (append) or beside it (before, after).
func (s *Server) move(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type IN ('page', 'folder') AND deleted_rev IS NULL`, r.PathValue("id"))
	target, tok := s.one(`SELECT id FROM content WHERE rowid = ? AND type IN ('page', 'folder') AND deleted_rev IS NULL`, r.PathValue("target"))
	if !ok || !tok {
		writeV1Error(w, http.StatusNotFound, "No page or folder with that id")
		return
	}
	var parent sql.NullString
	var position int
	switch r.PathValue("position") {
	case "append":
		parent.String, parent.Valid = target, true
		s.site.DB().QueryRow(`SELECT coalesce(max(position) + 1, 0) FROM content WHERE parent_id = ? AND deleted_rev IS NULL AND id != ?`, target, id).Scan(&position)
	case "before", "after":
		s.site.DB().QueryRow(`SELECT parent_id, position FROM content WHERE id = ?`, target).Scan(&parent, &position)
		if r.PathValue("position") == "after" {
			position++
		}
	default:
		writeV1Error(w, http.StatusBadRequest, "position must be append, before or after")
		return
	}
	if err := s.update(r, func(tx *embedded.Tx) error { return tx.MoveContent(id, parent.String, position) }); err != nil {
		writeV1Error(w, http.StatusInternalServerError, "move failed")
		return
	}
	writeJSON(w, map[string]any{"pageId": r.PathValue("id")})
}

func unmarshal(text string, v any) { json.Unmarshal([]byte(text), v) }
