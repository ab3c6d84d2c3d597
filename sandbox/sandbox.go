// Package sandbox serves an embedded site through the Confluence Cloud REST
// API, so that ferry's Cloud source and destination can be tested, and
// rehearsed, without a Confluence: the same paths, shapes, cursor
// pagination and error bodies as Atlassian's published specs (tests check
// its answers against them), with faults and rate limits on demand.
package sandbox

import (
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"ferry/embedded"
	"ferry/internal/clock"
)

// Server is the sandbox's HTTP handler.
type Server struct {
	site *embedded.Site
	mux  *http.ServeMux
	// Token, when set, is the only API token (or bearer token) accepted;
	// otherwise any credentials are, but some must be given.
	Token string
	// FailRate is the fraction of requests answered 500 or 503.
	FailRate float64
	// RateLimit is how many requests a second are served; beyond it, 429
	// with Retry-After. 0 means no limit.
	RateLimit float64
	// ReadOnly makes the caller an account that may read but not create
	// spaces or content: writes answer 403, as Confluence does.
	ReadOnly bool
	// Latency is added to every answer.
	Latency time.Duration
	// MaxPage caps a list's page size below the API's 250.
	MaxPage int
	// Spikes is the fraction of answers delayed by SpikeDelay.
	Spikes float64
	// Unannounced leaves out the X-RateLimit headers, so 429s come
	// without warning, as some of Cloud's do.
	Unannounced bool
	// Prefix serves the API under a path prefix only, as Atlassian's
	// gateway does (api.atlassian.com/ex/confluence/{cloudId}/wiki/...):
	// GatewayPrefix gives it for the site.
	Prefix string

	// EndpointLimit is how many requests a second one endpoint (method
	// and path, ids folded) serves; 0 means no limit of its own.
	EndpointLimit float64
	// RetryAfter, when set, is the wait a 429 asks for (Cloud's can be
	// minutes), and a retry sent before it is over earns the same wait
	// again; else a 429 asks to wait until the window ends.
	RetryAfter time.Duration
	// RateWindow is the span RateLimit and EndpointLimit count over (a
	// second if 0): a longer one, on a fast Clock, makes a test's requests
	// meet the limit however slow the machine.
	RateWindow time.Duration
	// ArchiveTime is how long an archival job takes (3 s if 0), on Clock.
	ArchiveTime time.Duration
	// Clock keeps the sandbox's time (rate windows and waits): a faster
	// one lets tests see waits of minutes pass in milliseconds.
	Clock clock.Clock
	// HiddenEmails is the share of users whose profile hides their email:
	// users-bulk answers it empty, as Cloud does. Which users is fixed by
	// their account ids.
	HiddenEmails float64
	// WithoutAccess is the share of accounts that may not use the site
	// (they exist, as every Atlassian account does everywhere, but have
	// no access until invited: access.go). Which is fixed by their ids.
	WithoutAccess float64
	// Roles puts the site in ROLES mode: space access through roles
	// (roles.go), v1's grants refused.
	Roles bool
	// InviteTime is how long an invitation takes to give access (5 s if
	// 0), on Clock.
	InviteTime time.Duration
	// NoAdminKey makes the site one without admin keys (Standard): the
	// caller sees only what it may view (visibility.go).
	NoAdminKey bool
	// CallerGroups names the groups the caller is in (nil: the default
	// access group, DefaultCallerGroups): what it may view follows.
	CallerGroups []string

	wmu         sync.Mutex // one write at a time, as SQLite wants
	mu          sync.Mutex
	served      int64
	refused     int64
	penalties   int64 // 429s that asked for RetryAfter
	archiveJobs []*archiveJob
	byEndpoint  map[string]int // requests served per endpoint
	early       int64          // requests during such a wait
	windows     map[string]*window
	routes      []string
	rng         *rand.Rand

	keyUntil    time.Time // the caller's admin key's end
	keysIssued  int
	hiddenCache *hiddenSet
	created     map[string]bool   // spaces the caller created, which it may read
	nodes       map[string]Node   // folders, whiteboards, ... laid over the site (tree.go)
	placed      map[string]string // page id → the node it is in

	owners        map[string]string // page (its Cloud id) → owner, where ownership was transferred
	access        map[string]bool   // site access set by SetAccess or an invitation
	invitations   []invitation      // not yet taken effect
	invitedEmails []string
}

// SpikeDelay is how long a latency spike holds an answer.
const SpikeDelay = 250 * time.Millisecond

// New serves site.
func New(site *embedded.Site) *Server {
	s := &Server{site: site, mux: http.NewServeMux(), rng: rand.New(rand.NewPCG(1, 2)), created: map[string]bool{}}
	s.handle("GET /wiki/api/v2/spaces", s.spaces)
	s.handle("GET /wiki/api/v2/spaces/{id}", s.space)
	s.handle("GET /wiki/api/v2/pages", s.contentList("page"))
	s.handle("GET /wiki/api/v2/blogposts", s.contentList("blogpost"))
	s.handle("GET /wiki/api/v2/pages/{id}", s.contentOne("page"))
	s.handle("GET /wiki/api/v2/blogposts/{id}", s.contentOne("blogpost"))
	s.handle("GET /wiki/api/v2/pages/{id}/versions", s.versions("page"))
	s.handle("GET /wiki/api/v2/blogposts/{id}/versions", s.versions("blogpost"))
	s.handle("GET /wiki/api/v2/pages/{id}/likes/users", s.likeUsers("page"))
	s.handle("GET /wiki/api/v2/blogposts/{id}/likes/users", s.likeUsers("blogpost"))
	s.handle("POST /wiki/api/v2/users-bulk", s.usersBulk)
	s.handle("GET /wiki/rest/api/user/current", s.currentUser)
	for _, add := range extra {
		add(s)
	}
	return s
}

// extra registers the routes of the other files.
var extra []func(*Server)

// siteBase is what Cloud answers as _links.base: the site's /wiki. Under
// a gateway prefix it is still the site's, not the gateway's (the stricter
// reading: a client that follows it leaves the gateway).
func siteBase(r *http.Request) string { return "http://" + r.Host + "/wiki" }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_edge/tenant_info" && r.Method == http.MethodGet {
		// The site's cloudId, for the gateway's URLs; no credentials needed.
		writeJSON(w, map[string]string{"cloudId": s.CloudID()})
		return
	}
	if s.Prefix != "" {
		// Through Atlassian's gateway, every call is under
		// /ex/confluence/{cloudId}, and nothing else answers.
		rest, ok := strings.CutPrefix(r.URL.Path, s.Prefix)
		if !ok || !strings.HasPrefix(rest, "/wiki/") {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		r.URL.Path, r.URL.RawPath = rest, ""
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Unauthorized")
		return
	}
	if !s.limit(w, r) {
		return
	}
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	if s.Spikes > 0 && s.random() < s.Spikes {
		time.Sleep(SpikeDelay)
	}
	if s.FailRate > 0 && s.random() < s.FailRate {
		switch roll := s.random(); {
		case roll < 0.2:
			// A connection reset: the client sees no answer at all.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
						tc.SetLinger(0)
					}
					conn.Close()
					return
				}
			}
			fallthrough
		case roll < 0.6:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "Service Unavailable")
		default:
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Internal Server Error")
		}
		return
	}
	if s.MaxPage > 0 {
		if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > s.MaxPage {
			q := r.URL.Query()
			q.Set("limit", strconv.Itoa(s.MaxPage))
			r.URL.RawQuery = q.Encode()
		}
	}
	if s.ReadOnly && r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/users-bulk") {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "You do not have permission to perform this operation")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// now is the sandbox's time (see Clock).
func (s *Server) now() time.Time { return s.Clock.Now() }

func (s *Server) random() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

// Stats says how many requests arrived and how many were refused with 429.
func (s *Server) Stats() (requests, refused int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served, s.refused
}

func (s *Server) authorized(r *http.Request) bool {
	token := ""
	if _, pass, ok := r.BasicAuth(); ok {
		token = pass
	} else if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = b
	}
	if token == "" {
		return false
	}
	return s.Token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.Token)) == 1
}

// writeError answers in the v2 error shape.
func writeError(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"status": status, "code": code, "title": title, "detail": nil}}})
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// page answers one page of a list: results, and a next link with a cursor
// when there may be more.
func writePage(w http.ResponseWriter, r *http.Request, results []any, last string, limit int) {
	writeList(w, r, results, last, len(results) == limit)
}

// writeList answers one page of a list, with a next link after last when
// more may follow.
func writeList(w http.ResponseWriter, r *http.Request, results []any, last string, more bool) {
	links := map[string]string{"base": siteBase(r)}
	if more && last != "" {
		q := r.URL.Query()
		q.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(last)))
		next := r.URL.Path + "?" + q.Encode()
		links["next"] = next
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	if results == nil {
		results = []any{}
	}
	writeJSON(w, map[string]any{"results": results, "_links": links})
}

// listRows answers one page of a cursor-paged list: build makes the query
// for the rows after the cursor, and row turns each into a result and the
// cursor that follows it.
func (s *Server) listRows(w http.ResponseWriter, r *http.Request, build func(after int64, limit int) (string, []any), row func(*sql.Rows) (any, string, error)) {
	limit, after, ok := listArgs(w, r)
	if !ok {
		return
	}
	q, args := build(after, limit)
	var page scanner
	if !s.query(w, q, args, func(rows *sql.Rows) error {
		v, cursor, err := row(rows)
		page.add(v, cursor, v != nil) // nil: a row the caller may not see
		return err
	}) {
		return
	}
	page.write(w, r, limit)
}

// versionRow renders a version of a list of versions (number, time,
// message, minor edit, author); its number is the cursor.
func versionRow(rows *sql.Rows) (any, string, error) {
	var number int
	var at, message, author string
	var minor bool
	if err := rows.Scan(&number, &at, &message, &minor, &author); err != nil {
		return nil, "", err
	}
	return map[string]any{"number": number, "createdAt": cloudTime(at), "message": message, "minorEdit": minor, "authorId": author}, strconv.Itoa(number), nil
}

// listArgs reads limit (default 25, at most 250) and the cursor, the last
// id of the previous page.
func listArgs(w http.ResponseWriter, r *http.Request) (limit int, after int64, ok bool) {
	limit = 25
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 250 {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "limit must be between 1 and 250")
			return 0, 0, false
		}
		limit = n
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			after, err = strconv.ParseInt(string(b), 10, 64)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "Invalid cursor")
			return 0, 0, false
		}
	}
	return limit, after, true
}

// cloudTime turns a stored time into the API's form.
func cloudTime(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
	}
	return s
}

func (s *Server) query(w http.ResponseWriter, q string, args []any, each func(*sql.Rows) error) bool {
	rows, err := s.site.DB().Query(q, args...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "query failed")
		return false
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "read failed")
			return false
		}
	}
	return true
}

// Cloud ids are integers: the sandbox shows an embedded site's rows by
// their SQLite rowid.
const spaceColumns = `rowid, key, name, type, status, coalesce(author, ''), created_at,
	coalesce((SELECT rowid FROM content h WHERE h.id = spaces.homepage), ''), description`

func spaceJSON(rows *sql.Rows) (map[string]any, string, error) {
	var id, key, name, typ, status, author, created, home, desc string
	if err := rows.Scan(&id, &key, &name, &typ, &status, &author, &created, &home, &desc); err != nil {
		return nil, "", err
	}
	v := map[string]any{"id": id, "key": key, "name": name, "type": typ, "status": status, "authorId": author,
		"createdAt": cloudTime(created), "homepageId": home,
		"description": map[string]any{"plain": map[string]any{"value": desc, "representation": "plain"}},
		"_links":      map[string]any{"webui": "/spaces/" + key}}
	return v, id, nil
}

func (s *Server) spaces(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := listArgs(w, r)
	if !ok {
		return
	}
	hid := s.hidden(r)
	var page scanner
	q, args := `SELECT `+spaceColumns+` FROM spaces WHERE deleted_rev IS NULL AND rowid > ?`, []any{after}
	if list := multi(r, "keys"); len(list) > 0 {
		q += ` AND key IN (` + strings.TrimSuffix(strings.Repeat("?,", len(list)), ",") + `)`
		for _, k := range list {
			args = append(args, k)
		}
	}
	if !s.query(w, q+` ORDER BY rowid LIMIT ?`, append(args, limit), func(rows *sql.Rows) error {
		v, id, err := spaceJSON(rows)
		page.add(v, id, hid == nil || !hid.spaces[id])
		return err
	}) {
		return
	}
	page.write(w, r, limit)
}

func (s *Server) space(w http.ResponseWriter, r *http.Request) {
	found := false
	if !s.query(w, `SELECT `+spaceColumns+` FROM spaces WHERE deleted_rev IS NULL AND rowid = ?`, []any{r.PathValue("id")}, func(rows *sql.Rows) error {
		v, _, err := spaceJSON(rows)
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

const contentColumns = `c.rowid, c.status, v.title, (SELECT rowid FROM spaces s WHERE s.id = c.space_id),
	coalesce((SELECT rowid FROM content p WHERE p.id = c.parent_id), ''), c.position, coalesce(c.author, ''), c.created_at,
	v.number, v.at, v.message, v.minor_edit, coalesce(v.author, ''), v.body,
	coalesce((SELECT type FROM content p WHERE p.id = c.parent_id), '')`

// contentJSON renders a page, blog post or folder at one version;
// withBody adds the storage-format body (folders have none).
func contentJSON(rows *sql.Rows, kind string, withBody bool) (map[string]any, string, error) {
	var id, status, title, space, parent, author, created, vAt, msg, vAuthor, body, parentType string
	var position, number int
	var minor bool
	if err := rows.Scan(&id, &status, &title, &space, &parent, &position, &author, &created, &number, &vAt, &msg, &minor, &vAuthor, &body, &parentType); err != nil {
		return nil, "", err
	}
	v := map[string]any{"id": id, "status": status, "title": title, "spaceId": space, "authorId": author, "ownerId": author,
		"createdAt": cloudTime(created),
		"version":   map[string]any{"number": number, "createdAt": cloudTime(vAt), "message": msg, "minorEdit": minor, "authorId": vAuthor},
		"_links":    map[string]any{"webui": "/pages/" + id}}
	if kind == "page" || kind == "folder" {
		v["position"] = position
		if parent != "" {
			v["parentId"], v["parentType"] = parent, parentType
		}
	}
	if kind == "folder" {
		v["type"] = "folder"
		v["_links"] = map[string]any{"webui": "/folders/" + id}
		return v, id, nil
	}
	if withBody {
		v["body"] = map[string]any{"storage": map[string]any{"representation": "storage", "value": body}}
	} else {
		v["body"] = map[string]any{}
	}
	return v, id, nil
}

// latest joins content with its latest version.
const latest = ` FROM content c JOIN content_versions v ON v.content_id = c.id
	AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id) `

func (s *Server) contentList(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, after, ok := listArgs(w, r)
		if !ok {
			return
		}
		q := `SELECT ` + contentColumns + latest + `WHERE c.type = ? AND c.deleted_rev IS NULL AND c.rowid > ?`
		args := []any{kind, after}
		if ids := multi(r, "space-id"); len(ids) > 0 {
			q += ` AND c.space_id IN (SELECT id FROM spaces WHERE rowid IN (` + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + `))`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		if ids := multi(r, "id"); len(ids) > 0 {
			if len(ids) > 250 {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "id: at most 250 ids")
				return
			}
			q += ` AND c.rowid IN (` + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		// Cloud leaves trashed content out unless asked for it.
		want := multi(r, "status")
		if len(want) == 0 {
			want = map[string][]string{"page": {"current", "archived"}, "blogpost": {"current"}}[kind]
		}
		q += ` AND c.status IN (` + strings.TrimSuffix(strings.Repeat("?,", len(want)), ",") + `)`
		for _, st := range want {
			args = append(args, st)
		}
		if title := r.URL.Query().Get("title"); title != "" {
			q += ` AND v.title = ?`
			args = append(args, title)
		}
		q += ` ORDER BY c.rowid LIMIT ?`
		args = append(args, limit)
		withBody := r.URL.Query().Get("body-format") == "storage"
		hid := s.hidden(r)
		var page scanner
		if !s.query(w, q, args, func(rows *sql.Rows) error {
			v, id, err := contentJSON(rows, kind, withBody)
			s.overlay(v)
			page.add(v, id, hid == nil || !hid.content[id])
			return err
		}) {
			return
		}
		page.write(w, r, limit)
	}
}

func (s *Server) contentOne(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := `SELECT ` + contentColumns + latest + `WHERE c.type = ? AND c.deleted_rev IS NULL AND c.rowid = ?`
		args := []any{kind, r.PathValue("id")}
		if n := r.URL.Query().Get("version"); n != "" {
			q = `SELECT ` + contentColumns + ` FROM content c JOIN content_versions v ON v.content_id = c.id AND v.number = ?
				WHERE c.type = ? AND c.deleted_rev IS NULL AND c.rowid = ?`
			args = append([]any{n}, args...)
		}
		var found map[string]any
		if !s.query(w, q, args, func(rows *sql.Rows) error {
			v, _, err := contentJSON(rows, kind, r.URL.Query().Get("body-format") == "storage")
			s.overlay(v)
			found = v
			return err
		}) {
			return
		}
		if found == nil {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		s.includes(kind, r.PathValue("id"), r, found)
		writeJSON(w, found)
	}
}

func (s *Server) versions(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.listRows(w, r, func(after int64, limit int) (string, []any) {
			return `SELECT v.number, v.at, v.message, v.minor_edit, coalesce(v.author, '') FROM content_versions v
				JOIN content c ON c.id = v.content_id WHERE c.rowid = ? AND c.type = ? AND c.deleted_rev IS NULL AND v.number > ?
				ORDER BY v.number LIMIT ?`, []any{r.PathValue("id"), kind, after, limit}
		}, versionRow)
	}
}

func (s *Server) usersBulk(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountIDs []string `json:"accountIds"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || len(req.AccountIDs) == 0 || len(req.AccountIDs) > 250 {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "accountIds: give 1 to 250 account ids")
		return
	}
	var results []any
	for _, id := range req.AccountIDs {
		s.query(w, `SELECT account_id, coalesce(email, ''), display_name, status, account_type FROM users WHERE account_id = ?`, []any{id}, func(rows *sql.Rows) error {
			var acc, email, name, status, typ string
			if err := rows.Scan(&acc, &email, &name, &status, &typ); err != nil {
				return err
			}
			status = map[string]string{"active": "active", "inactive": "inactive", "deleted": "closed"}[status]
			if s.emailHidden(acc) {
				email = "" // the profile hides it: v2 spec, User.email
			}
			results = append(results, map[string]any{"accountId": acc, "email": email, "displayName": name, "accountStatus": status, "accountType": typ})
			return nil
		})
	}
	writePage(w, r, results, "", len(results)+1)
}

// currentUser answers who the caller is and, with expand=operations, what
// it may do: an administrator, or a reader when ReadOnly.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) {
	ops := []map[string]string{{"operation": "read", "targetType": "application"}, {"operation": "use", "targetType": "application"}}
	if !s.ReadOnly {
		ops = append(ops, map[string]string{"operation": "administer", "targetType": "application"},
			map[string]string{"operation": "create_space", "targetType": "application"})
	}
	writeJSON(w, map[string]any{"type": "known", "accountId": "sandbox-caller", "accountType": "atlassian", "email": "",
		"publicName": "Sandbox caller", "displayName": "Sandbox caller", "operations": ops})
}

// CloudID is the site's id as the gateway names it: the embedded site's.
func (s *Server) CloudID() string { return s.site.ID() }

// GatewayPrefix is the path Atlassian's gateway serves the site under.
func (s *Server) GatewayPrefix() string { return "/ex/confluence/" + s.CloudID() }

// multi reads a multi-valued filter as Cloud does: the v2 spec describes
// them as comma-separated lists ("keys=A,B"), and clients also repeat the
// parameter ("keys=A&keys=B"); every value of either form counts.
func multi(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// handle serves pattern and lists it among the routes.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, s.guard(pattern, h))
}

// Routes lists the method and path patterns the sandbox serves.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// emailHidden says whether an account's profile hides its email: the
// share HiddenEmails of the accounts, picked by a hash of their ids.
func (s *Server) emailHidden(accountID string) bool {
	return share(accountID, "", s.HiddenEmails)
}
