package sandbox

import (
	"database/sql"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"

	"ferry/model"
)

// Labels and footer comments of pages and blog posts.

func init() {
	extra = append(extra, func(s *Server) {
		for _, kind := range []string{"page", "blogpost"} {
			path := map[string]string{"page": "pages", "blogpost": "blogposts"}[kind]
			s.handle("GET /wiki/api/v2/"+path+"/{id}/labels", s.labels(kind))
			for _, loc := range []string{"footer", "inline"} {
				s.handle("GET /wiki/api/v2/"+path+"/{id}/"+loc+"-comments", s.comments(kind, loc))
			}
		}
		for _, loc := range []string{"footer", "inline"} {
			s.handle("GET /wiki/api/v2/"+loc+"-comments", s.siteComments(loc))
			s.handle("GET /wiki/api/v2/"+loc+"-comments/{id}/children", s.commentChildren(loc))
			s.handle("GET /wiki/api/v2/"+loc+"-comments/{id}/versions", s.commentVersions(loc))
			s.handle("GET /wiki/api/v2/"+loc+"-comments/{id}", s.comment(loc))
		}
	})
}

// labelID is a label's number: labels are keyed by prefix and name.
func labelID(prefix, name string) string {
	h := fnv.New32a()
	h.Write([]byte(prefix + ":" + name))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

func (s *Server) labels(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, after, ok := listArgs(w, r)
		if !ok {
			return
		}
		var results []any
		n := after
		if !s.query(w, `SELECT l.prefix, l.name FROM labels l JOIN content c ON c.id = l.container_id
			WHERE c.rowid = ? AND c.type = ? AND l.deleted_rev IS NULL ORDER BY l.prefix, l.name LIMIT ? OFFSET ?`,
			[]any{r.PathValue("id"), kind, limit, after}, func(rows *sql.Rows) error {
				var prefix, name string
				if err := rows.Scan(&prefix, &name); err != nil {
					return err
				}
				results = append(results, map[string]any{"id": labelID(prefix, name), "name": name, "prefix": prefix})
				n++
				return nil
			}) {
			return
		}
		writePage(w, r, results, strconv.FormatInt(n, 10), limit)
	}
}

// commentColumns is a comment at its latest version.
const commentColumns = commentFields + commentFrom

const commentFields = `cm.rowid, cm.status, cm.location, coalesce(cm.anchor, ''), (SELECT rowid FROM content c WHERE c.id = cm.container_id),
	coalesce((SELECT rowid FROM comments p WHERE p.id = cm.parent_id), ''),
	v.number, v.at, coalesce(v.author, ''), v.body`

const commentFrom = ` FROM comments cm JOIN comment_versions v ON v.comment_id = cm.id `

const latestComment = `AND v.number = (SELECT max(number) FROM comment_versions WHERE comment_id = cm.id) `

func commentJSON(rows *sql.Rows, containerKey string, withBody bool) (map[string]any, string, error) {
	var id, status, location, anchor, container, parent, at, author, body, containerType string
	var number int
	dest := []any{&id, &status, &location, &anchor, &container, &parent, &number, &at, &author, &body}
	if containerKey == "site" { // the site's lists name both the container and the parent
		dest = append(dest, &containerType)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, "", err
	}
	if status != "current" && status != "draft" && status != "trashed" && status != "historical" && status != "deleted" {
		status = "current"
	}
	v := map[string]any{"id": id, "status": status, "title": "Re: comment",
		"version": map[string]any{"number": number, "createdAt": cloudTime(at), "message": "", "minorEdit": false, "authorId": author},
		"_links":  map[string]any{"webui": "/comments/" + id}}
	switch containerKey {
	case "site":
		v[map[string]string{"page": "pageId", "blogpost": "blogPostId"}[containerType]] = container
		if parent != "" {
			v["parentCommentId"] = parent
		}
	case "parent":
		v["parentCommentId"] = parent
	case "":
	default:
		v[containerKey] = container
	}
	if withBody {
		v["body"] = map[string]any{"storage": map[string]any{"representation": "storage", "value": body}}
	} else {
		v["body"] = map[string]any{}
	}
	if location == "inline" {
		var a model.InlineAnchor
		json.Unmarshal([]byte(anchor), &a)
		v["resolutionStatus"] = "open"
		v["properties"] = map[string]any{"inlineMarkerRef": a.MarkerRef, "inlineOriginalSelection": a.Selection}
	}
	return v, id, nil
}

func (s *Server) comments(kind, loc string) http.HandlerFunc {
	key := map[string]string{"page": "pageId", "blogpost": "blogPostId"}[kind]
	return func(w http.ResponseWriter, r *http.Request) {
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT ` + commentColumns + latestComment + `WHERE cm.location = ? AND cm.parent_id IS NULL AND cm.deleted_rev IS NULL
				AND cm.container_id = (SELECT id FROM content WHERE rowid = ? AND type = ?) AND cm.rowid > ? ORDER BY cm.rowid LIMIT ?`,
				[]any{loc, r.PathValue("id"), kind, after, limit}
		}, func(rows *sql.Rows) (any, string, error) {
			return commentJSON(rows, key, r.URL.Query().Get("body-format") == "storage")
		})
	}
}

// siteComments lists every footer or inline comment of the site the
// caller may see, replies too (v2: GET /footer-comments, GET
// /inline-comments), each naming its page or blog post and, for a reply,
// its parent comment.
func (s *Server) siteComments(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		order := "cm.rowid"
		// A comment's rowid follows its creation; modified-date is served
		// in the same order (a simplification, CLOUD.md).
		switch r.URL.Query().Get("sort") {
		case "", "created-date", "modified-date":
		case "-created-date", "-modified-date":
			order = "cm.rowid DESC"
		default:
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "sort: one of created-date, -created-date, modified-date, -modified-date")
			return
		}
		hid := s.hidden(r)
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			cmp := ">"
			if strings.HasSuffix(order, "DESC") {
				cmp = "<"
				if after == 0 {
					after = math.MaxInt64
				}
			}
			return `SELECT ` + commentFields + `, (SELECT type FROM content c WHERE c.id = cm.container_id)` + commentFrom + latestComment +
				`WHERE cm.location = ? AND cm.deleted_rev IS NULL AND cm.rowid ` + cmp + ` ? ORDER BY ` + order + ` LIMIT ?`, []any{loc, after, limit}
		}, func(rows *sql.Rows) (any, string, error) {
			v, id, err := commentJSON(rows, "site", r.URL.Query().Get("body-format") == "storage")
			if err != nil || (hid != nil && hid.comments[id]) {
				return nil, id, err
			}
			return v, id, nil
		})
	}
}

func (s *Server) commentChildren(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT ` + commentColumns + latestComment + `WHERE cm.deleted_rev IS NULL
				AND cm.parent_id = (SELECT id FROM comments WHERE rowid = ? AND location = ?) AND cm.rowid > ? ORDER BY cm.rowid LIMIT ?`,
				[]any{r.PathValue("id"), loc, after, limit}
		}, func(rows *sql.Rows) (any, string, error) {
			return commentJSON(rows, "parent", r.URL.Query().Get("body-format") == "storage")
		})
	}
}

func (s *Server) commentVersions(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT v.number, v.at, '', 0, coalesce(v.author, '') FROM comment_versions v JOIN comments cm ON cm.id = v.comment_id
				WHERE cm.rowid = ? AND cm.location = ? AND cm.deleted_rev IS NULL AND v.number > ? ORDER BY v.number LIMIT ?`,
				[]any{r.PathValue("id"), loc, after, limit}
		}, versionRow)
	}
}

func (s *Server) comment(loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := `SELECT ` + commentColumns + latestComment + `WHERE cm.rowid = ? AND cm.location = ? AND cm.deleted_rev IS NULL`
		args := []any{r.PathValue("id"), loc}
		if n := r.URL.Query().Get("version"); n != "" {
			q = `SELECT ` + commentColumns + `AND v.number = ? WHERE cm.rowid = ? AND cm.location = ? AND cm.deleted_rev IS NULL`
			args = []any{n, r.PathValue("id"), loc}
		}
		found := false
		if !s.query(w, q, args, func(rows *sql.Rows) error {
			v, _, err := commentJSON(rows, "", r.URL.Query().Get("body-format") == "storage")
			if err == nil {
				found = true
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
}
