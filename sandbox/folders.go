package sandbox

import (
	"database/sql"
	"net/http"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Folders are the site's own: content of type folder, a page without a
// body in the page tree. v2 reads one at /folders/{id}, creates one with
// POST /folders and trashes one with DELETE; it lists none (a client
// finds them through what is in them) and has no way to rename one.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/folders/{id}", s.folder)
		s.handle("POST /wiki/api/v2/folders", s.createFolder)
		s.handle("DELETE /wiki/api/v2/folders/{id}", s.trash("folder"))
		s.handle("GET /wiki/api/v2/folders/{id}/direct-children", s.directChildren("folder"))
		s.handle("GET /wiki/api/v2/pages/{id}/direct-children", s.directChildren("page"))
	})
}

func (s *Server) folder(w http.ResponseWriter, r *http.Request) {
	found := false
	if !s.query(w, `SELECT `+contentColumns+latest+`WHERE c.type = 'folder' AND c.deleted_rev IS NULL AND c.rowid = ?`, []any{r.PathValue("id")}, func(rows *sql.Rows) error {
		v, _, err := contentJSON(rows, "folder", false)
		if err == nil {
			found = true
			v["_links"].(map[string]any)["base"] = siteBase(r)
			writeJSON(w, v)
		}
		return err
	}) {
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
	}
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SpaceID  string `json:"spaceId"`
		Title    string `json:"title"`
		ParentID string `json:"parentId"`
	}
	if !readBody(w, r, &req) {
		return
	}
	space, ok := s.one(`SELECT id FROM spaces WHERE rowid = ? AND deleted_rev IS NULL`, req.SpaceID)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "The space does not exist, or the caller may not see it")
		return
	}
	parent := ""
	if req.ParentID != "" {
		if parent, ok = s.one(`SELECT id FROM content WHERE rowid = ? AND space_id = ? AND type IN ('page', 'folder') AND deleted_rev IS NULL`, req.ParentID, space); !ok {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "parentId names no page or folder of the space")
			return
		}
	}
	var id string
	err := s.update(r, func(tx *embedded.Tx) error {
		var err error
		if id, err = tx.NewID("cloud-folder-"); err != nil {
			return err
		}
		now := time.Now().UTC()
		if err := tx.CreateContent(model.Content{ID: id, Type: "folder", SpaceID: space, ParentID: parent, Status: "current", CreatedAt: now}); err != nil {
			return err
		}
		return tx.AddVersion(model.Version{ContentID: id, Number: 1, Title: req.Title, At: now})
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create failed")
		return
	}
	row, _ := s.one(`SELECT rowid FROM content WHERE id = ?`, id)
	r.SetPathValue("id", row)
	s.folder(w, r)
}

// directChildren lists what is directly under a page or folder: pages and
// folders of the site, current or archived, by position. (The nodes laid
// over the site are not listed: they hold, not sit under, pages here.)
func (s *Server) directChildren(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		parent, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = ? AND deleted_rev IS NULL`, r.PathValue("id"), kind)
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		hid := s.hidden(r)
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT c.rowid, c.status, c.type, (SELECT rowid FROM spaces s WHERE s.id = c.space_id), c.position,
				(SELECT title FROM content_versions v WHERE v.content_id = c.id ORDER BY v.number DESC LIMIT 1)
				FROM content c WHERE c.parent_id = ? AND c.deleted_rev IS NULL AND c.status IN ('current', 'archived') AND c.rowid > ?
				ORDER BY c.rowid LIMIT ?`, []any{parent, after, limit}
		}, func(rows *sql.Rows) (any, string, error) {
			var id, status, typ, space, title string
			var position int
			if err := rows.Scan(&id, &status, &typ, &space, &position, &title); err != nil {
				return nil, "", err
			}
			if hid != nil && hid.content[id] {
				return nil, id, nil
			}
			return map[string]any{"id": id, "status": status, "title": title, "type": typ, "spaceId": space, "childPosition": position}, id, nil
		})
	}
}
