package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Footer comments written through the API, and comment properties, which
// the embedded site has no place for: the sandbox keeps them in a table of
// its own in the site's file.

const commentPropsTable = `CREATE TABLE IF NOT EXISTS sandbox_comment_properties (
	comment_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (comment_id, key)) WITHOUT ROWID`

func init() {
	extra = append(extra, func(s *Server) {
		s.site.DB().Exec(commentPropsTable)
		for _, loc := range []string{"footer", "inline"} {
			s.handle("POST /wiki/api/v2/"+loc+"-comments", s.createComment(loc))
			s.handle("PUT /wiki/api/v2/"+loc+"-comments/{id}", s.updateComment)
		}
		s.handle("POST /wiki/api/v2/comments/{id}/properties", s.createCommentProperty)
		s.handle("GET /wiki/api/v2/comments/{id}/properties", s.commentProperties)
	})
}

type commentWrite struct {
	PageID          string `json:"pageId"`
	BlogPostID      string `json:"blogPostId"`
	ParentCommentID string `json:"parentCommentId"`
	Body            struct {
		Representation string `json:"representation"`
		Value          string `json:"value"`
	} `json:"body"`
	Version struct {
		Number  int    `json:"number"`
		Message string `json:"message"`
	} `json:"version"`
	Inline struct {
		TextSelection           string `json:"textSelection"`
		TextSelectionMatchCount int    `json:"textSelectionMatchCount"`
		TextSelectionMatchIndex int    `json:"textSelectionMatchIndex"`
	} `json:"inlineCommentProperties"`
}

func (s *Server) createComment(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req commentWrite
		if !readBody(w, r, &req) {
			return
		}
		var container, parent string
		var ok bool
		switch {
		case req.ParentCommentID != "":
			// A reply is made in its parent's collection (rule 32).
			parent, ok = s.one(`SELECT id FROM comments WHERE rowid = ? AND location = ? AND deleted_rev IS NULL`, req.ParentCommentID, loc)
			if ok {
				container, ok = s.one(`SELECT container_id FROM comments WHERE id = ?`, parent)
			}
		case req.PageID != "":
			container, ok = s.one(`SELECT id FROM content WHERE rowid = ? AND type = 'page' AND deleted_rev IS NULL`, req.PageID)
		case req.BlogPostID != "":
			container, ok = s.one(`SELECT id FROM content WHERE rowid = ? AND type = 'blogpost' AND deleted_rev IS NULL`, req.BlogPostID)
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "give an existing pageId, blogPostId or parentCommentId (a reply's parent: a comment of this collection, "+loc+"-comments)")
			return
		}
		if loc == "inline" && parent == "" {
			// The selection must be in the page's current body: how often,
			// and which occurrence (v2 spec, InlineCommentProperties).
			body, _ := s.one(`SELECT body FROM content_versions WHERE content_id = ? ORDER BY number DESC LIMIT 1`, container)
			sel := req.Inline
			n := model.Occurrences(body, sel.TextSelection)
			switch {
			case sel.TextSelection == "" || n == 0:
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "inlineCommentProperties.textSelection is not in the page's current body")
				return
			case sel.TextSelectionMatchCount != n:
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "inlineCommentProperties.textSelectionMatchCount is "+strconv.Itoa(sel.TextSelectionMatchCount)+"; the body has the selection "+strconv.Itoa(n)+" times")
				return
			case sel.TextSelectionMatchIndex < 0 || sel.TextSelectionMatchIndex >= n:
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "inlineCommentProperties.textSelectionMatchIndex must be below textSelectionMatchCount")
				return
			}
		}
		var id string
		err := s.update(r, func(tx *embedded.Tx) error {
			var err error
			if id, err = tx.NewID("cloud-comment-"); err != nil {
				return err
			}
			now := time.Now().UTC()
			cm := model.Comment{ID: id, ContainerID: container, ParentID: parent, Location: loc, Status: "current", CreatedAt: now}
			if loc == "inline" && parent == "" {
				cm.Anchor = &model.InlineAnchor{Selection: req.Inline.TextSelection, MatchIndex: req.Inline.TextSelectionMatchIndex, MarkerRef: "ferry-" + id}
			}
			if err := tx.CreateComment(cm); err != nil {
				return err
			}
			return tx.AddCommentVersion(model.Version{ContentID: id, Number: 1, Body: req.Body.Value, At: now})
		})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create failed")
			return
		}
		row, _ := s.one(`SELECT rowid FROM comments WHERE id = ?`, id)
		writeJSONStatus(w, http.StatusCreated, map[string]any{"id": row, "status": "current", "title": "Re: comment", "version": map[string]any{"number": 1}})
	}
}

func (s *Server) updateComment(w http.ResponseWriter, r *http.Request) {
	var req commentWrite
	if !readBody(w, r, &req) {
		return
	}
	id, ok := s.one(`SELECT id FROM comments WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	if !s.addVersion(w, r, `SELECT max(number) FROM comment_versions WHERE comment_id = ?`, id, req.Version.Number, func(tx *embedded.Tx) error {
		return tx.AddCommentVersion(model.Version{ContentID: id, Number: req.Version.Number, Body: req.Body.Value, At: time.Now().UTC()})
	}) {
		return
	}
	writeJSON(w, map[string]any{"id": r.PathValue("id"), "status": "current", "version": map[string]any{"number": req.Version.Number}})
}

func (s *Server) createCommentProperty(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if !readBody(w, r, &req) {
		return
	}
	id, ok := s.one(`SELECT id FROM comments WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok || req.Key == "" || !json.Valid(req.Value) {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "a property needs an existing comment, a key and a JSON value")
		return
	}
	s.wmu.Lock()
	_, err := s.site.DB().Exec(`INSERT INTO sandbox_comment_properties VALUES (?, ?, ?)`, id, req.Key, string(req.Value))
	s.wmu.Unlock()
	if err != nil {
		writeError(w, http.StatusConflict, "CONFLICT", "the property exists")
		return
	}
	writeJSON(w, map[string]any{"id": strconv.FormatInt(propertyID(id, req.Key), 10), "key": req.Key, "value": req.Value,
		"version": map[string]any{"number": 1, "createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "message": "", "minorEdit": false, "authorId": ""}})
}

func (s *Server) commentProperties(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM comments WHERE rowid = ?`, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	var results []any
	key := r.URL.Query().Get("key")
	rows, err := s.site.DB().Query(`SELECT key, value FROM sandbox_comment_properties WHERE comment_id = ? AND (? = '' OR key = ?) ORDER BY key`, id, key, key)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "query failed")
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		results = append(results, map[string]any{"id": strconv.FormatInt(propertyID(id, k), 10), "key": k, "value": json.RawMessage(v),
			"version": map[string]any{"number": 1, "createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "message": "", "minorEdit": false, "authorId": ""}})
	}
	writePage(w, r, results, "", len(results)+1)
}
