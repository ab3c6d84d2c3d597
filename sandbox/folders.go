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
