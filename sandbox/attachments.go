package sandbox

import (
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Attachments of pages and blog posts, their versions, and their bytes.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/pages/{id}/attachments", s.attachments("page"))
		s.handle("GET /wiki/api/v2/blogposts/{id}/attachments", s.attachments("blogpost"))
		s.handle("GET /wiki/api/v2/attachments/{id}/versions", s.attachmentVersions)
		s.handle("GET /wiki/api/v2/attachments", s.siteAttachments)
		// As Confluence Cloud's downloadLink: outside the v2 API.
		s.handle("GET /wiki/download/attachments/{container}/{filename}", s.download)
		// v1's download call, the only one of some widely used clients:
		// a redirect to the bytes.
		s.handle("GET /wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download", s.downloadRedirect)
	})
}

// downloadRedirect answers v1's attachment download with a 302 to the
// bytes, as Cloud does (Cloud's goes to its media host; this one stays on
// the sandbox's origin). ?version= picks a version, else the latest.
func (s *Server) downloadRedirect(w http.ResponseWriter, r *http.Request) {
	var container, filename string
	err := s.site.DB().QueryRow(`SELECT c.rowid, a.filename FROM attachments a JOIN content c ON c.id = a.container_id
		WHERE a.rowid = ? AND c.rowid = ? AND a.deleted_rev IS NULL`, attachmentRow(r.PathValue("attachmentId")), r.PathValue("id")).Scan(&container, &filename)
	if err != nil {
		writeV1Error(w, http.StatusNotFound, "No attachment "+r.PathValue("attachmentId")+" on content "+r.PathValue("id"))
		return
	}
	link := "/wiki/download/attachments/" + container + "/" + url.PathEscape(filename)
	if v := r.URL.Query().Get("version"); v != "" {
		link += "?version=" + url.QueryEscape(v)
	}
	http.Redirect(w, r, link, http.StatusFound)
}

func (s *Server) attachments(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.attachmentList(w, r, `c.rowid = ? AND c.type = ?`, r.PathValue("id"), kind)
	}
}

// siteAttachments lists every attachment of the site the caller may see
// (v2: GET /attachments), each naming its page or blog post.
func (s *Server) siteAttachments(w http.ResponseWriter, r *http.Request) {
	status := multi(r, "status")
	if len(status) > 0 && !slices.Contains(status, "current") {
		writeList(w, r, nil, "", false) // only current attachments here
		return
	}
	s.attachmentList(w, r, `c.type IN ('page', 'blogpost')`)
}

// attachmentList answers a list of attachments at their latest version,
// of the containers where picks.
func (s *Server) attachmentList(w http.ResponseWriter, r *http.Request, where string, args ...any) {
	limit, after, ok := listArgs(w, r)
	if !ok {
		return
	}
	hid := s.hidden(r)
	var page scanner
	filename := r.URL.Query().Get("filename")
	args = append(args, after, filename, filename, limit)
	if !s.query(w, `SELECT a.rowid, c.rowid, c.type, a.filename, a.media_type, a.created_at, v.number, v.size, v.comment, v.at, coalesce(v.author, '')
		FROM attachments a JOIN content c ON c.id = a.container_id
		JOIN attachment_versions v ON v.attachment_id = a.id AND v.number = (SELECT max(number) FROM attachment_versions WHERE attachment_id = a.id)
		WHERE `+where+` AND a.deleted_rev IS NULL AND a.rowid > ? AND (? = '' OR a.filename = ?) ORDER BY a.rowid LIMIT ?`,
		args, func(rows *sql.Rows) error {
			var id, container, kind, filename, mediaType, created, comment, at, author string
			var number int
			var size int64
			if err := rows.Scan(&id, &container, &kind, &filename, &mediaType, &created, &number, &size, &comment, &at, &author); err != nil {
				return err
			}
			key := map[string]string{"page": "pageId", "blogpost": "blogPostId"}[kind]
			download := "/download/attachments/" + container + "/" + url.PathEscape(filename) + "?version=" + strconv.Itoa(number) + "&api=v2"
			page.add(map[string]any{"id": "att" + id, "status": "current", "title": filename, "createdAt": cloudTime(created),
				key: container, "mediaType": mediaType, "comment": comment, "fileId": "file-" + id, "fileSize": size,
				"webuiLink": "/pages/viewpageattachments.action?pageId=" + container, "downloadLink": download,
				"version": map[string]any{"number": number, "createdAt": cloudTime(at), "message": comment, "minorEdit": false, "authorId": author},
				"_links":  map[string]any{"webui": "/pages/viewpageattachments.action?pageId=" + container, "download": download}},
				id, hid == nil || !hid.att[id])
			return nil
		}) {
		return
	}
	page.write(w, r, limit)
}

// attachmentRow reads a Cloud attachment id ("att" and a rowid).
// Some calls (v2 DELETE) take the number alone.
func attachmentRow(id string) string {
	if len(id) > 3 && id[:3] == "att" {
		id = id[3:]
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return "-1"
	}
	return id
}

func (s *Server) attachmentVersions(w http.ResponseWriter, r *http.Request) {
	s.listRows(w, r, func(after int64, limit int) (string, []any) {
		return `SELECT v.number, v.at, v.comment, 0, coalesce(v.author, '') FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id
			WHERE a.rowid = ? AND a.deleted_rev IS NULL AND v.number > ? ORDER BY v.number LIMIT ?`,
			[]any{attachmentRow(r.PathValue("id")), after, limit}
	}, versionRow)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	var digest string
	q := `SELECT v.blob FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id JOIN content c ON c.id = a.container_id
		WHERE c.rowid = ? AND a.filename = ? AND a.deleted_rev IS NULL AND v.number = ?`
	version := r.URL.Query().Get("version")
	if version == "" {
		q = `SELECT v.blob FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id JOIN content c ON c.id = a.container_id
			WHERE c.rowid = ? AND a.filename = ? AND a.deleted_rev IS NULL ORDER BY v.number DESC LIMIT 1`
	}
	args := []any{r.PathValue("container"), r.PathValue("filename")}
	if version != "" {
		args = append(args, version)
	}
	if err := s.site.DB().QueryRow(q, args...).Scan(&digest); err != nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	body, size, err := s.site.OpenBlob(r.Context(), digest)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "blob unreadable")
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	io.Copy(w, body)
}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("PUT /wiki/rest/api/content/{id}/child/attachment", s.upload)
		s.handle("POST /wiki/rest/api/content/{id}/child/attachment", s.upload)
	})
}

// upload takes a v1 multipart upload: a new attachment, or a new version
// of the attachment of that file name.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Atlassian-Token") != "no-check" {
		writeV1Error(w, http.StatusForbidden, "XSRF check failed: send X-Atlassian-Token: no-check")
		return
	}
	container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No content with id "+r.PathValue("id"))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, "want multipart/form-data: "+err.Error())
		return
	}
	comment := ""
	var result map[string]any
	var attID string
	var number int
	var fileSize int64
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeV1Error(w, http.StatusBadRequest, "bad multipart body: "+err.Error())
			return
		}
		switch part.FormName() {
		case "comment":
			b, _ := io.ReadAll(io.LimitReader(part, 1<<16))
			comment = string(b)
		case "file":
			filename := part.FileName()
			mediaType := part.Header.Get("Content-Type")
			err := s.update(r, func(tx *embedded.Tx) error {
				digest, size, err := tx.PutBlobFrom(part)
				if err != nil {
					return err
				}
				id, exists := s.one(`SELECT id FROM attachments WHERE container_id = ? AND filename = ? AND deleted_rev IS NULL`, container, filename)
				if !exists {
					if id, err = tx.NewID("cloud-attachment-"); err != nil {
						return err
					}
					if err := tx.CreateAttachment(model.Attachment{ID: id, ContainerID: container, Filename: filename, MediaType: mediaType, CreatedAt: time.Now().UTC()}); err != nil {
						return err
					}
				}
				last, _ := s.one(`SELECT coalesce(max(number), 0) FROM attachment_versions WHERE attachment_id = ?`, id)
				n, _ := strconv.Atoi(last)
				if err := tx.AddAttachmentVersion(model.AttachmentVersion{AttachmentID: id, Number: n + 1, Blob: digest, Size: size,
					MediaType: mediaType, Comment: comment, At: time.Now().UTC()}); err != nil {
					return err
				}
				attID, number, fileSize = id, n+1, size
				return nil
			})
			if err != nil {
				writeV1Error(w, http.StatusInternalServerError, "upload failed")
				return
			}
			row, _ := s.one(`SELECT rowid FROM attachments WHERE id = ?`, attID)
			result = map[string]any{"id": "att" + row, "type": "attachment", "status": "current", "title": filename,
				"version": map[string]any{"number": number, "minorEdit": true, "when": time.Now().UTC().Format(time.RFC3339), "_links": map[string]any{}, "_expandable": map[string]any{}},
				"_links":  map[string]any{}, "_expandable": map[string]any{}, "extensions": map[string]any{"fileSize": fileSize, "mediaType": mediaType}}
		}
	}
	if result == nil {
		writeV1Error(w, http.StatusBadRequest, "no file part")
		return
	}
	writeJSON(w, map[string]any{"results": []any{result}, "start": 0, "limit": 1, "size": 1, "_links": map[string]any{}})
}
