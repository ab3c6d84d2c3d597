package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// What the caller sees. Cloud answers every call with only what the
// caller may view: a space whose permissions do not let the caller read
// it, and a page or blog post whose read restriction (or a parent page's:
// they are inherited) does not name the caller or one of its groups, are
// absent from lists and answer 404, with everything in them. A site admin
// is no exception, unless it turns on an admin key (Premium and
// Enterprise) and its calls carry Atl-Confluence-With-Admin-Key: true.
// The creator of a space may read it (Cloud makes it the space's admin).
// A call that carries the header without a live key is not refused: it
// sees what the caller sees (the stricter reading; the documentation does
// not say).

// CallerAccount is the account the sandbox's caller is.
const CallerAccount = "sandbox-caller"

// DefaultCallerGroups are the groups the caller is in when CallerGroups
// is nil: the product's default access group.
var DefaultCallerGroups = []string{"confluence-users"}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/admin-key", noBearer(s.getAdminKey))
		s.handle("POST /wiki/api/v2/admin-key", noBearer(s.enableAdminKey))
		s.handle("DELETE /wiki/api/v2/admin-key", noBearer(s.disableAdminKey))
	})
}

// adminKeys reports whether the caller may have an admin key: an admin
// on a Premium site.
func (s *Server) adminKeys() bool { return !s.NoAdminKey && !s.ReadOnly }

// bearer reports whether r comes with an OAuth (bearer) token, which
// may not use the admin key resource ("Forge and OAuth2 apps cannot
// access this REST resource").
func bearer(r *http.Request) bool { return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") }

func noBearer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) {
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "OAuth 2.0 apps cannot access this resource")
			return
		}
		h(w, r)
	}
}

func (s *Server) keyAnswer(w http.ResponseWriter, until time.Time) {
	writeJSON(w, map[string]any{"accountId": CallerAccount, "expirationTime": until.UTC().Format("2006-01-02T15:04:05.000Z")})
}

func (s *Server) getAdminKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	until := s.keyUntil
	s.mu.Unlock()
	if !s.adminKeys() || !s.now().Before(until) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No admin key is enabled for the calling user")
		return
	}
	s.keyAnswer(w, until)
}

// enableAdminKey issues a key for durationInMinutes (0 or none: 10, at
// most 60), or a new one with a new end if there is one.
func (s *Server) enableAdminKey(w http.ResponseWriter, r *http.Request) {
	if !s.adminKeys() {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Admin keys are not available to the calling user on this site")
		return
	}
	var req struct {
		DurationInMinutes *int `json:"durationInMinutes"`
	}
	body := http.MaxBytesReader(w, r.Body, 1<<16)
	if err := json.NewDecoder(body).Decode(&req); err != nil && err.Error() != "EOF" {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "The request body is not JSON")
		return
	}
	minutes := 10
	if d := req.DurationInMinutes; d != nil && *d != 0 {
		if *d < 0 || *d > 60 {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "durationInMinutes must be between 0 and 60")
			return
		}
		minutes = *d
	}
	until := s.now().Add(time.Duration(minutes) * time.Minute)
	s.mu.Lock()
	s.keyUntil = until
	s.keysIssued++
	s.mu.Unlock()
	s.keyAnswer(w, until)
}

func (s *Server) disableAdminKey(w http.ResponseWriter, r *http.Request) {
	if !s.adminKeys() {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Admin keys are not available to the calling user on this site")
		return
	}
	s.mu.Lock()
	s.keyUntil = time.Time{}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// AdminKeys says how many admin keys were issued (renewals included) and
// whether one is on now.
func (s *Server) AdminKeys() (issued int, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keysIssued, s.now().Before(s.keyUntil)
}

// RevokeAdminKey turns the caller's key off, as another admin could.
func (s *Server) RevokeAdminKey() {
	s.mu.Lock()
	s.keyUntil = time.Time{}
	s.mu.Unlock()
}

// hiddenSet is what a caller without a key does not see, by the rowids
// the API shows (spaces also by key).
type hiddenSet struct {
	rev                                       int64
	spaces, spaceKeys, content, comments, att map[string]bool
}

// hidden answers what r's caller cannot see; nil when it sees everything.
func (s *Server) hidden(r *http.Request) *hiddenSet {
	if r.Header.Get("Atl-Confluence-With-Admin-Key") == "true" {
		s.mu.Lock()
		on := s.adminKeys() && !bearer(r) && s.now().Before(s.keyUntil)
		s.mu.Unlock()
		if on {
			return nil
		}
	}
	h, err := s.hiddenNow(r.Context())
	if err != nil {
		// Seeing nothing is the safe failure.
		return &hiddenSet{spaces: all{}, spaceKeys: all{}, content: all{}, comments: all{}, att: all{}}
	}
	return h
}

// all is a set holding everything.
type all = map[string]bool

// hiddenNow computes the hidden set at the site's revision, once per
// revision.
func (s *Server) hiddenNow(ctx context.Context) (*hiddenSet, error) {
	rev, err := s.site.Rev(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	h := s.hiddenCache
	s.mu.Unlock()
	if h != nil && h.rev == rev {
		return h, nil
	}
	groups := s.CallerGroups
	if groups == nil {
		groups = DefaultCallerGroups
	}
	names, _ := json.Marshal(groups)
	s.mu.Lock()
	created := make([]string, 0, len(s.created))
	for id := range s.created {
		created = append(created, id)
	}
	s.mu.Unlock()
	mine, _ := json.Marshal(created)
	const q = `WITH RECURSIVE
		mine(id) AS (SELECT id FROM groups WHERE deleted_rev IS NULL AND name IN (SELECT value FROM json_each(?1))),
		readable(space_id) AS (SELECT space_id FROM space_permissions WHERE deleted_rev IS NULL AND operation = 'read:space'
			AND ((principal_type = 'user' AND principal_id = ?2) OR (principal_type = 'group' AND principal_id IN mine))
			UNION SELECT value FROM json_each(?3)),
		closed(id) AS (
			SELECT id FROM content WHERE space_id NOT IN readable
			UNION SELECT container_id FROM restrictions WHERE deleted_rev IS NULL AND operation = 'read' GROUP BY container_id
				HAVING sum((principal_type = 'user' AND principal_id = ?2) OR (principal_type = 'group' AND principal_id IN mine)) = 0
			UNION SELECT c.id FROM content c JOIN closed ON c.parent_id = closed.id)
		SELECT 'space', rowid FROM spaces WHERE id NOT IN readable
		UNION ALL SELECT 'key', key FROM spaces WHERE id NOT IN readable
		UNION ALL SELECT 'content', rowid FROM content WHERE id IN closed
		UNION ALL SELECT 'comment', rowid FROM comments WHERE container_id IN closed
		UNION ALL SELECT 'attachment', rowid FROM attachments WHERE container_id IN closed`
	rows, err := s.site.DB().QueryContext(ctx, q, string(names), CallerAccount, string(mine))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h = &hiddenSet{rev: rev, spaces: all{}, spaceKeys: all{}, content: all{}, comments: all{}, att: all{}}
	sets := map[string]map[string]bool{"space": h.spaces, "key": h.spaceKeys, "content": h.content, "comment": h.comments, "attachment": h.att}
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, err
		}
		sets[kind][id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.hiddenCache = h
	s.mu.Unlock()
	return h, nil
}

// guard answers 404 for a route's object the caller cannot see. Which
// object a pattern's path names follows from the pattern itself.
func (s *Server) guard(pattern string, h http.HandlerFunc) http.HandlerFunc {
	var name, kind string
	switch {
	case strings.Contains(pattern, "/api/v2/admin-key"), strings.Contains(pattern, "/users-bulk"):
		return h
	case strings.Contains(pattern, "/api/v2/spaces/{id}"):
		name, kind = "id", "space"
	case strings.Contains(pattern, "/api/v2/pages/{id}"), strings.Contains(pattern, "/api/v2/blogposts/{id}"),
		strings.Contains(pattern, "/rest/api/content/{id}"):
		name, kind = "id", "content"
	case strings.Contains(pattern, "/download/attachments/{container}"):
		name, kind = "container", "content"
	case strings.Contains(pattern, "-comments/{id}"), strings.Contains(pattern, "/api/v2/comments/{id}"):
		name, kind = "id", "comment"
	case strings.Contains(pattern, "/api/v2/attachments/{id}"):
		name, kind = "id", "attachment"
	case strings.Contains(pattern, "/rest/api/space/{key}"):
		name, kind = "key", "key"
	default:
		return h
	}
	v1 := strings.Contains(pattern, "/rest/api/")
	return func(w http.ResponseWriter, r *http.Request) {
		hid := s.hidden(r)
		if hid != nil {
			id := r.PathValue(name)
			var seen bool
			switch kind {
			case "space":
				seen = !hid.spaces[id]
			case "key":
				seen = !hid.spaceKeys[id]
			case "content":
				seen = !hid.content[id]
			case "comment":
				seen = !hid.comments[id]
			case "attachment":
				seen = !hid.att[attachmentRow(id)]
			}
			if !seen {
				if v1 {
					writeV1Error(w, http.StatusNotFound, "No content found with id "+id)
				} else {
					writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
				}
				return
			}
		}
		h(w, r)
	}
}

// scanner counts a list's rows, seen or not: a page of a list is full
// when the query gave limit rows, though the caller may see fewer (Cloud
// answers short pages, even empty ones, with a next link, when it leaves
// out what the caller may not see).
type scanner struct {
	results []any
	last    string
	rows    int
}

func (p *scanner) add(v any, cursor string, seen bool) {
	p.rows++
	p.last = cursor
	if seen {
		p.results = append(p.results, v)
	}
}

func (p *scanner) write(w http.ResponseWriter, r *http.Request, limit int) {
	writeList(w, r, p.results, p.last, p.rows == limit)
}
