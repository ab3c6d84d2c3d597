package sandbox

import (
	"database/sql"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Writes: spaces (v1, as Cloud creates them with their permissions),
// pages and blog posts with their versions (v2), and content properties.
// Content written through the API is attributed to no one and dated now,
// as Confluence attributes it to the caller: provenance lives in
// properties and version messages.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("POST /wiki/rest/api/space", s.createSpace)
		s.handle("POST /wiki/rest/api/space/{key}/property", s.createSpaceProperty)
		s.handle("GET /wiki/rest/api/space/{key}/property/{property}", s.spaceProperty)
		s.handle("POST /wiki/rest/api/content/{id}/label", s.addLabels)
		for _, kind := range []string{"page", "blogpost"} {
			path := map[string]string{"page": "pages", "blogpost": "blogposts"}[kind]
			s.handle("POST /wiki/api/v2/"+path, s.createContent(kind))
			s.handle("PUT /wiki/api/v2/"+path+"/{id}", s.updateContent(kind))
			s.handle("GET /wiki/api/v2/"+path+"/{id}/properties", s.properties(kind))
			s.handle("POST /wiki/api/v2/"+path+"/{id}/properties", s.createProperty(kind))
		}
		s.handle("GET /wiki/api/v2/folders/{id}/properties", s.properties("folder"))
		s.handle("POST /wiki/api/v2/folders/{id}/properties", s.createProperty("folder"))
	})
}

func (s *Server) update(r *http.Request, fn func(*embedded.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.site.Update(r.Context(), time.Now().UTC(), "", fn)
}

func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

func (s *Server) one(q string, args ...any) (string, bool) {
	var v string
	err := s.site.DB().QueryRow(q, args...).Scan(&v)
	return v, err == nil
}

// spaceOperations are the operations a space permission may name on
// create (v1 spec, SpacePermissionCreate).
var spaceOperations = map[string]bool{
	"create:page": true, "create:blogpost": true, "create:comment": true, "create:attachment": true, "read:space": true,
	"delete:page": true, "delete:blogpost": true, "delete:comment": true, "delete:attachment": true, "export:space": true, "administer:space": true,
}

// DefaultSpacePermissions are the site's default space permissions, which
// a space created without permissions gets (v1 SpaceCreate.permissions):
// these operations for the default access group, DefaultCallerGroups[0].
var DefaultSpacePermissions = []string{"read:space", "create:page", "create:blogpost", "create:comment", "create:attachment", "export:space"}

func (s *Server) createSpace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key         string `json:"key"`
		Name        string `json:"name"`
		Description struct {
			Plain struct {
				Value string `json:"value"`
			} `json:"plain"`
		} `json:"description"`
		Permissions []struct {
			Subjects struct {
				User struct {
					Results []struct {
						AccountID string `json:"accountId"`
					} `json:"results"`
				} `json:"user"`
				Group struct {
					Results []struct {
						ID   string `json:"id"`
						Name string `json:"name"`
					} `json:"results"`
				} `json:"group"`
			} `json:"subjects"`
			Operation struct {
				Operation  string `json:"operation"`
				TargetType string `json:"targetType"`
			} `json:"operation"`
			AnonymousAccess bool `json:"anonymousAccess"`
		} `json:"permissions"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Key == "" || req.Name == "" {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "key and name are required")
		return
	}
	if _, taken := s.one(`SELECT id FROM spaces WHERE upper(key) = upper(?)`, req.Key); taken {
		writeV1Error(w, http.StatusBadRequest, "A space with key "+req.Key+" already exists")
		return
	}
	if s.Roles && len(req.Permissions) > 0 {
		writeV1Error(w, http.StatusBadRequest, "This site manages space access with roles: create the space with v2 POST /spaces and roleAssignments")
		return
	}
	// The grants: exactly those asked for, or, if none, the defaults.
	type grant = spaceGrant
	var grants []grant
	for _, p := range req.Permissions {
		op := p.Operation.Operation + ":" + p.Operation.TargetType
		if !spaceOperations[op] {
			writeV1Error(w, http.StatusBadRequest, "permissions: operation "+op+" is not one a space permission may have")
			return
		}
		if p.AnonymousAccess {
			grants = append(grants, grant{"anonymous", "", op})
		}
		for _, u := range p.Subjects.User.Results {
			if _, ok := s.one(`SELECT account_id FROM users WHERE account_id = ?`, u.AccountID); !ok && u.AccountID != CallerAccount {
				writeV1Error(w, http.StatusBadRequest, "permissions: no user with account id "+u.AccountID)
				return
			}
			grants = append(grants, grant{"user", u.AccountID, op})
		}
		for _, g := range p.Subjects.Group.Results {
			id, ok := s.one(`SELECT id FROM groups WHERE (id = ? OR name = ?) AND deleted_rev IS NULL`, g.ID, g.Name)
			if !ok {
				writeV1Error(w, http.StatusBadRequest, "permissions: no group "+g.ID+g.Name)
				return
			}
			grants = append(grants, grant{"group", id, op})
		}
	}
	if len(req.Permissions) == 0 {
		if group, ok := s.one(`SELECT id FROM groups WHERE name = ? AND deleted_rev IS NULL`, DefaultCallerGroups[0]); ok {
			for _, op := range DefaultSpacePermissions {
				grants = append(grants, grant{"group", group, op})
			}
		}
	}
	id, err := s.newSpace(r, req.Key, req.Name, req.Description.Plain.Value, grants)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create space failed")
		return
	}
	row, _ := s.one(`SELECT rowid FROM spaces WHERE id = ?`, id)
	n, _ := strconv.ParseInt(row, 10, 64)
	writeJSON(w, map[string]any{"id": n, "key": req.Key, "name": req.Name, "type": "global", "status": "current",
		"_expandable": map[string]any{}, "_links": map[string]any{}})
}

// writeV1Error answers in the v1 error shape.
func writeV1Error(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": message, "data": map[string]any{}})
}

type contentWrite struct {
	ID       string `json:"id"`
	SpaceID  string `json:"spaceId"`
	Status   string `json:"status"`
	Title    string `json:"title"`
	ParentID string `json:"parentId"`
	OwnerID  string `json:"ownerId"` // pages' updates only (v2 PageUpdateRequest)
	Body     struct {
		Representation string `json:"representation"`
		Value          string `json:"value"`
	} `json:"body"`
	Version struct {
		Number  int    `json:"number"`
		Message string `json:"message"`
	} `json:"version"`
}

func (s *Server) createContent(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req contentWrite
		if !readBody(w, r, &req) {
			return
		}
		if kind == "blogpost" && req.Body.Representation != "storage" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "body.representation: a blog post takes storage format")
			return
		}
		space, ok := s.one(`SELECT id FROM spaces WHERE rowid = ? AND deleted_rev IS NULL`, req.SpaceID)
		if !ok || req.Title == "" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "spaceId must name a space, and a title is required")
			return
		}
		if s.titleTaken(space, kind, req.Title, "") {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "A "+kind+" with this title already exists: A "+kind+" already exists with the same TITLE in this space")
			return
		}
		parent := ""
		if req.ParentID != "" && kind == "page" {
			if parent, ok = s.one(`SELECT id FROM content WHERE rowid = ? AND type IN ('page', 'folder')`, req.ParentID); !ok {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "parentId names no page or folder")
				return
			}
		} else if kind == "page" && r.URL.Query().Get("root-level") != "true" {
			// v2 spec, createPage: without parentId "the space homepage's
			// ID will be used", unless root-level=true.
			parent, _ = s.one(`SELECT homepage FROM spaces WHERE id = ? AND homepage IS NOT NULL`, space)
		}
		var id string
		err := s.update(r, func(tx *embedded.Tx) error {
			var err error
			if id, err = tx.NewID("cloud-content-"); err != nil {
				return err
			}
			now := time.Now().UTC()
			if err := tx.CreateContent(model.Content{ID: id, Type: kind, SpaceID: space, ParentID: parent, Status: "current", CreatedAt: now}); err != nil {
				return err
			}
			return tx.AddVersion(model.Version{ContentID: id, Number: 1, Title: req.Title, Body: req.Body.Value, At: now, Message: req.Version.Message})
		})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create failed")
			return
		}
		row, _ := s.one(`SELECT rowid FROM content WHERE id = ?`, id)
		s.writeContent(w, kind, row)
	}
}

// writeContent answers with a page or blog post as it is now.
func (s *Server) writeContent(w http.ResponseWriter, kind, row string) {
	s.query(w, `SELECT `+contentColumns+latest+`WHERE c.rowid = ?`, []any{row}, func(rows *sql.Rows) error {
		v, _, err := contentJSON(rows, kind, true)
		if err == nil {
			s.overlay(v)
			writeJSON(w, v)
		}
		return err
	})
}

func (s *Server) updateContent(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req contentWrite
		if !readBody(w, r, &req) {
			return
		}
		id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = ? AND deleted_rev IS NULL`, r.PathValue("id"), kind)
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		if status, _ := s.one(`SELECT status FROM content WHERE id = ?`, id); status == "trashed" {
			// v2 spec, PageUpdateRequest.status: an update with status
			// current restores a trashed page, "only the page status will
			// be changed"; trashed content takes no other update.
			if req.Status != "current" {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "trashed content takes no update but a restore (status current)")
				return
			}
			if err := s.update(r, func(tx *embedded.Tx) error { return tx.SetContentStatus(id, "current") }); err != nil {
				writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "restore failed")
				return
			}
			s.mu.Lock()
			s.hiddenCache = nil
			s.mu.Unlock()
			s.writeContent(w, kind, r.PathValue("id"))
			return
		}
		if kind == "blogpost" && req.Body.Representation != "storage" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "body.representation: a blog post takes storage format")
			return
		}
		if req.OwnerID != "" {
			// A page's ownership moves to an account that may use the
			// site (stricter: the spec says nothing of other accounts).
			_, exists := s.one(`SELECT account_id FROM users WHERE account_id = ?`, req.OwnerID)
			switch {
			case kind != "page":
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "ownerId: only a page has an owner to transfer")
				return
			case !exists && req.OwnerID != CallerAccount:
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "ownerId: no user with account id "+req.OwnerID)
				return
			case req.OwnerID != CallerAccount && !s.hasAccess(r, req.OwnerID):
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "ownerId: user "+req.OwnerID+" does not have access to this site")
				return
			}
		}
		if space, _ := s.one(`SELECT space_id FROM content WHERE id = ?`, id); s.titleTaken(space, kind, req.Title, id) {
			// Cloud's answer to an update to a title in use does not
			// always say so (sooperset/mcp-atlassian#692): the stricter
			// reading, a 400 that a client cannot take for a title clash
			// without looking.
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "No space or no content type, or setup a wrong version type set to content, or status param is not draft and status content is current")
			return
		}
		if !s.addVersion(w, r, `SELECT max(number) FROM content_versions WHERE content_id = ?`, id, req.Version.Number, func(tx *embedded.Tx) error {
			return tx.AddVersion(model.Version{ContentID: id, Number: req.Version.Number, Title: req.Title, Body: req.Body.Value,
				At: time.Now().UTC(), Message: req.Version.Message})
		}) {
			return
		}
		if req.OwnerID != "" {
			s.mu.Lock()
			if s.owners == nil {
				s.owners = map[string]string{}
			}
			s.owners[r.PathValue("id")] = req.OwnerID
			s.mu.Unlock()
		}
		s.writeContent(w, kind, r.PathValue("id"))
	}
}

// addVersion writes version n of something whose current version the
// query finds, when n follows it, as Confluence requires (409 otherwise);
// it answers the error itself and says whether it wrote.
func (s *Server) addVersion(w http.ResponseWriter, r *http.Request, currentQuery, id string, n int, add func(*embedded.Tx) error) bool {
	current, _ := s.one(currentQuery, id)
	if c, _ := strconv.Atoi(current); n != c+1 {
		writeError(w, http.StatusConflict, "CONFLICT", "Version must be incremented by 1: the current version is "+current)
		return false
	}
	if err := s.update(r, add); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "update failed")
		return false
	}
	return true
}

func propertyID(container, key string) int64 {
	h := fnv.New32a()
	h.Write([]byte(container + "\x00" + key))
	return int64(h.Sum32())
}

func (s *Server) properties(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, after, ok := listArgs(w, r)
		if !ok {
			return
		}
		q := `SELECT p.container_id, p.key, p.value, p.version FROM properties p JOIN content c ON c.id = p.container_id
			WHERE c.rowid = ? AND c.type = ? AND p.deleted_rev IS NULL`
		args := []any{r.PathValue("id"), kind}
		if k := r.URL.Query().Get("key"); k != "" {
			q += ` AND p.key = ?`
			args = append(args, k)
		}
		q += ` ORDER BY p.key LIMIT ? OFFSET ?`
		args = append(args, limit, after)
		var results []any
		n := after
		if !s.query(w, q, args, func(rows *sql.Rows) error {
			var container, key, value string
			var version int
			if err := rows.Scan(&container, &key, &value, &version); err != nil {
				return err
			}
			results = append(results, map[string]any{"id": strconv.FormatInt(propertyID(container, key), 10), "key": key,
				"value": json.RawMessage(value), "version": map[string]any{"number": version, "createdAt": cloudTime(time.Now().UTC().Format(time.RFC3339)), "message": "", "minorEdit": false, "authorId": ""}})
			n++
			return nil
		}) {
			return
		}
		writePage(w, r, results, strconv.FormatInt(n, 10), limit)
	}
}

func (s *Server) createProperty(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if !readBody(w, r, &req) {
			return
		}
		id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = ? AND deleted_rev IS NULL`, r.PathValue("id"), kind)
		if !ok || req.Key == "" || !json.Valid(req.Value) {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "a property needs existing content, a key and a JSON value")
			return
		}
		if _, taken := s.one(`SELECT key FROM properties WHERE container_id = ? AND key = ? AND deleted_rev IS NULL`, id, req.Key); taken {
			writeError(w, http.StatusConflict, "CONFLICT", "the property exists")
			return
		}
		err := s.update(r, func(tx *embedded.Tx) error {
			return tx.SetProperty(model.Property{ContainerID: id, Key: req.Key, Value: req.Value, Version: 1})
		})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create property failed")
			return
		}
		writeJSON(w, map[string]any{"id": strconv.FormatInt(propertyID(id, req.Key), 10), "key": req.Key, "value": req.Value,
			"version": map[string]any{"number": 1, "createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "message": "", "minorEdit": false, "authorId": ""}})
	}
}

// Space properties live in the embedded space's settings, under
// "property:KEY" (the embedded site has no place of their own for them).
func (s *Server) createSpaceProperty(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Key == "" || !json.Valid(req.Value) {
		writeV1Error(w, http.StatusBadRequest, "a property needs a key and a JSON value")
		return
	}
	s.wmu.Lock()
	res, err := s.site.DB().Exec(`UPDATE spaces SET settings = json_set(settings, '$."property:' || ? || '"', ?) WHERE key = ? AND deleted_rev IS NULL`,
		req.Key, string(req.Value), r.PathValue("key"))
	s.wmu.Unlock()
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		writeV1Error(w, http.StatusNotFound, "No space with key "+r.PathValue("key"))
		return
	}
	writeJSON(w, spacePropertyJSON(r, req.Key, req.Value))
}

// spacePropertyJSON is a v1 SpaceProperty, with what the spec requires of
// it and of its Version (id, key, value, _expandable; number, when,
// minorEdit).
func spacePropertyJSON(r *http.Request, key string, value json.RawMessage) map[string]any {
	return map[string]any{"id": strconv.FormatInt(propertyID("space:"+r.PathValue("key"), key), 10), "key": key, "value": value,
		"version":     map[string]any{"number": 1, "when": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "minorEdit": false, "message": ""},
		"_expandable": map[string]any{"space": "/rest/api/space/" + r.PathValue("key")},
		"_links":      map[string]any{"base": siteBase(r), "context": "/wiki"}}
}

func (s *Server) spaceProperty(w http.ResponseWriter, r *http.Request) {
	value, ok := s.one(`SELECT json_extract(settings, '$."property:' || ? || '"') FROM spaces WHERE key = ? AND deleted_rev IS NULL`,
		r.PathValue("property"), r.PathValue("key"))
	if !ok || value == "" {
		writeV1Error(w, http.StatusNotFound, "No property "+r.PathValue("property"))
		return
	}
	writeJSON(w, spacePropertyJSON(r, r.PathValue("property"), json.RawMessage(value)))
}

// addLabels adds labels to a page or blog post (v1); adding one that is
// there already changes nothing, as in Confluence.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	type label struct {
		Prefix string `json:"prefix"`
		Name   string `json:"name"`
	}
	// A list of labels, or one (v1 spec: LabelCreateArray or LabelCreate).
	var raw json.RawMessage
	if !readBody(w, r, &raw) {
		return
	}
	var labels []label
	if err := json.Unmarshal(raw, &labels); err != nil {
		var one label
		if err := json.Unmarshal(raw, &one); err != nil {
			writeV1Error(w, http.StatusBadRequest, "the body is neither a label nor a list of labels")
			return
		}
		labels = []label{one}
	}
	id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No content with id "+r.PathValue("id"))
		return
	}
	var results []any
	err := s.update(r, func(tx *embedded.Tx) error {
		for _, l := range labels {
			if l.Prefix == "" {
				l.Prefix = "global"
			}
			if l.Name == "" {
				continue
			}
			if _, exists := s.one(`SELECT name FROM labels WHERE container_id = ? AND prefix = ? AND name = ? AND deleted_rev IS NULL`, id, l.Prefix, l.Name); !exists {
				if err := tx.AddLabel(model.Label{ContainerID: id, Prefix: l.Prefix, Name: l.Name}); err != nil {
					return err
				}
			}
			results = append(results, map[string]any{"prefix": l.Prefix, "name": l.Name, "id": labelID(l.Prefix, l.Name), "label": l.Name})
		}
		return nil
	})
	if err != nil {
		writeV1Error(w, http.StatusInternalServerError, "add labels failed")
		return
	}
	writeJSON(w, map[string]any{"results": results, "start": 0, "limit": len(results), "size": len(results)})
}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("DELETE /wiki/api/v2/pages/{id}", s.trash("page"))
		s.handle("DELETE /wiki/api/v2/blogposts/{id}", s.trash("blogpost"))
		s.handle("POST /wiki/rest/api/content/archive", s.archivePages)
		s.handle("GET /wiki/rest/api/longtask/{id}", s.longTask)
	})
}

// trash moves a page or blog post to the trash, as DELETE without purge
// does; trashing it again changes nothing.
func (s *Server) trash(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = ? AND deleted_rev IS NULL`, r.PathValue("id"), kind)
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		// As Cloud does: a DELETE trashes; purge=true deletes for good what
		// is in the trash.
		purge := r.URL.Query().Get("purge") == "true"
		if status, _ := s.one(`SELECT status FROM content WHERE id = ?`, id); purge && status != "trashed" {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "only trashed content can be purged")
			return
		}
		err := s.update(r, func(tx *embedded.Tx) error {
			if purge {
				return tx.DeleteContent(id)
			}
			return tx.SetContentStatus(id, "trashed")
		})
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// archivePages archives pages (v1; Confluence does it as a long task).
// titleTaken reports whether content of a kind in a space, other than
// except, has a title as its current one. Trashed and archived content
// count: Cloud keeps their titles taken.
func (s *Server) titleTaken(space, kind, title, except string) bool {
	_, taken := s.one(`SELECT c.id FROM content c JOIN content_versions v ON v.content_id = c.id AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id)
		WHERE c.space_id = ? AND c.type = ? AND v.title = ? AND c.id != ? AND c.deleted_rev IS NULL`, space, kind, title, except)
	return taken
}

// spaceGrant is a space permission a new space is created with.
type spaceGrant struct{ ptype, pid, op string }

// newSpace creates a space with a homepage titled as the space, and
// exactly the grants given.
func (s *Server) newSpace(r *http.Request, key, name, description string, grants []spaceGrant) (string, error) {
	var id string
	err := s.update(r, func(tx *embedded.Tx) error {
		var err error
		if id, err = tx.NewID("cloud-space-"); err != nil {
			return err
		}
		now := time.Now().UTC()
		err = tx.CreateSpace(model.Space{ID: id, Key: key, Name: name, Type: "global", Status: "current",
			Description: description, Categories: []string{}, Settings: map[string]string{},
			LookAndFeel: map[string]string{}, Templates: []model.Template{}, CreatedAt: now})
		// A new space comes with a homepage, titled as the space.
		var home string
		if err == nil {
			home, err = tx.NewID("cloud-content-")
		}
		if err == nil {
			err = errors.Join(tx.CreateContent(model.Content{ID: home, Type: "page", SpaceID: id, Status: "current", CreatedAt: now, Author: CallerAccount}),
				tx.AddVersion(model.Version{ContentID: home, Number: 1, Title: name, Body: "", Author: CallerAccount, At: now}),
				tx.SetHomepage(id, home))
		}
		for _, g := range grants {
			if err != nil {
				break
			}
			var pid string
			if pid, err = tx.NewID("cloud-permission-"); err == nil {
				err = tx.GrantPermission(model.SpacePermission{ID: pid, SpaceID: id, PrincipalType: g.ptype, PrincipalID: g.pid, Operation: g.op})
			}
		}
		return err
	})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.created[id] = true // Cloud makes a space's creator its admin
	s.hiddenCache = nil
	s.mu.Unlock()
	return id, nil
}
