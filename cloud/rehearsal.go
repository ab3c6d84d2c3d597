package cloud

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Rehearsal returns a client for a dry run: it reads the site as c does,
// but no write reaches the site. Writes are answered here as the site
// would answer them: what they create gets an id of its own, and a later
// read of it (its versions, properties, labels, attachments, members) is
// answered here too, as the site would for something just made. So code
// that imports through the client runs its whole course, the same code
// as a real run, and counts what it would do, while the site sees reads
// only.
func (c *Client) Rehearsal() *Client {
	r := &Client{base: c.base, site: c.site, siteID: c.siteID, creds: c.creds, Retries: c.Retries, MaxWait: c.MaxWait, Sleep: c.Sleep, clock: c.clock, OnWait: c.OnWait, gate: newGate(MaxInFlight)}
	next := c.http.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	r.http = &http.Client{Timeout: c.http.Timeout, CheckRedirect: r.checkRedirect,
		Transport: &rehearsal{next: next, made: map[string]*made{}, versions: map[string]int{}, uploads: map[string]int{}, titles: map[string]string{}, titleOf: map[string]string{}}}
	return r
}

// rehearsal is the transport of a Rehearsal client.
type rehearsal struct {
	next     http.RoundTripper
	mu       sync.Mutex
	nextID   int64
	made     map[string]*made  // ids (and space keys) the rehearsal created
	versions map[string]int    // the version last written of content the site has
	uploads  map[string]int    // versions uploaded, by container and file name
	titles   map[string]string // kind, space and title written → content id
	titleOf  map[string]string // content id → its key in titles
}

// contentKind says whether a write creates or updates a page or blog
// post (v2: POST /pages, PUT /pages/{id}), and which.
func contentKind(path, method string) (string, bool) {
	for _, kind := range []string{"pages", "blogposts"} {
		base := "/wiki/api/v2/" + kind
		if (method == http.MethodPost && strings.HasSuffix(path, base)) || (method == http.MethodPut && strings.Contains(path, base+"/") && strings.Count(path[strings.Index(path, base)+len(base):], "/") == 1) {
			return kind, true
		}
	}
	return "", false
}

// titleTaken reports whether other content of a kind in a space has a
// title: what the rehearsal wrote, else, in a space the site has, what
// the site says.
func (r *rehearsal) titleTaken(req *http.Request, kind, space, title, self string) bool {
	if title == "" {
		return false
	}
	if holder, ok := r.titles[kind+"\x00"+space+"\x00"+title]; ok {
		return holder != self
	}
	if _, madeSpace := r.made[space]; madeSpace || space == "" {
		return false
	}
	u := *req.URL
	u.Path = req.URL.Path[:strings.Index(req.URL.Path, "/wiki/")] + "/wiki/api/v2/" + kind
	u.RawQuery = url.Values{"space-id": {space}, "title": {title}}.Encode()
	get, err := http.NewRequestWithContext(req.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	get.Header = req.Header.Clone()
	get.Header.Del("Content-Type")
	resp, err := r.next.RoundTrip(get)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var list struct {
		Results []struct{ ID string }
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list)
	for _, c := range list.Results {
		if c.ID != self {
			return true
		}
	}
	return false
}

// uploadName is the file name of a multipart upload's file part.
func uploadName(body io.Reader, contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if part.FormName() == "file" {
			return part.FileName()
		}
	}
}

type made struct {
	version int
	spaceID string
}

// readPosts are POSTs that only read, and go to the site.
var readPosts = map[string]bool{"/wiki/api/v2/users-bulk": true, "/wiki/api/v2/user/access/check-access-by-email": true}

func (r *rehearsal) RoundTrip(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	switch {
	case req.Method == http.MethodGet || req.Method == http.MethodHead || (req.Method == http.MethodPost && hasSuffixIn(path, readPosts)):
		if resp, ok := r.answerRead(req); ok {
			return resp, nil
		}
		return r.next.RoundTrip(req)
	case req.Method == http.MethodDelete:
		return answer(req, http.StatusNoContent, nil), nil
	}
	var body map[string]any
	var uploaded string // an attachment upload's file name
	if req.Body != nil {
		ct := req.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/json"):
			json.NewDecoder(io.LimitReader(req.Body, 64<<20)).Decode(&body)
		case strings.HasPrefix(ct, "multipart/form-data"):
			uploaded = uploadName(req.Body, ct)
		}
		io.Copy(io.Discard, req.Body) // read to the end, as the site would
		req.Body.Close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if uploaded != "" { // PUT .../content/{id}/child/attachment: a new version of the file
		container := lastSegment(strings.TrimSuffix(path, "/child/attachment"))
		r.uploads[container+"\x00"+uploaded]++
		return answer(req, http.StatusOK, map[string]any{"results": []any{map[string]any{"id": "att" + r.newID(nil), "title": uploaded}}}), nil
	}
	id := lastSegment(path)
	if kind, ok := contentKind(path, req.Method); ok {
		// Titles are unique in a space: refused as the site would.
		space, _ := body["spaceId"].(string)
		if req.Method == http.MethodPut {
			if m := r.made[id]; m != nil {
				space = m.spaceID
			}
		}
		title, _ := body["title"].(string)
		if taken := r.titleTaken(req, kind, space, title, id); taken {
			return answer(req, http.StatusBadRequest, map[string]any{"errors": []any{map[string]any{"status": 400, "code": "BAD_REQUEST",
				"title": "A " + strings.TrimSuffix(kind, "s") + " with this title already exists: A " + strings.TrimSuffix(kind, "s") + " already exists with the same TITLE in this space"}}}), nil
		}
		if req.Method == http.MethodPost {
			id = r.newID(body)
		}
		// The content's title is now this one, and its old one free.
		if old, ok := r.titleOf[id]; ok {
			delete(r.titles, old)
		}
		key := kind + "\x00" + space + "\x00" + title
		r.titles[key], r.titleOf[id] = id, key
		if req.Method == http.MethodPost {
			return answer(req, http.StatusOK, map[string]any{"id": id, "version": map[string]any{"number": 1}}), nil
		}
	}
	if req.Method == http.MethodPut {
		if n := versionOf(body); n > 0 {
			if m := r.made[id]; m != nil {
				m.version = n
			} else {
				r.versions[id] = n
			}
			return answer(req, http.StatusOK, map[string]any{"id": id, "version": map[string]any{"number": n}}), nil
		}
		return answer(req, http.StatusOK, map[string]any{"results": []any{map[string]any{"id": "att" + r.newID(nil)}}}), nil
	}
	// A POST creates something (a space, page, comment, group, property,
	// permission), or adds to something (a label, a member): either way
	// an id answers it.
	newID := r.newID(body)
	out := map[string]any{"id": newID, "version": map[string]any{"number": 1}}
	if key, ok := body["key"].(string); ok {
		out["key"] = key
	}
	if name, ok := body["name"].(string); ok {
		out["name"] = name
	}
	return answer(req, http.StatusOK, out), nil
}

// newID makes an id for something the rehearsal creates, noting its space
// and, for a space, its key.
func (r *rehearsal) newID(body map[string]any) string {
	r.nextID++
	id := strconv.FormatInt(9_000_000_000_000+r.nextID, 10)
	m := &made{version: 1}
	if s, ok := body["spaceId"].(string); ok {
		m.spaceID = s
	}
	r.made[id] = m
	if key, ok := body["key"].(string); ok && body["name"] != nil {
		r.made[key] = m // a space: later calls name it by key
	}
	return id
}

// answerRead answers a read about what the rehearsal created or updated;
// false sends it to the site.
func (r *rehearsal) answerRead(req *http.Request) (*http.Response, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// GET .../{kind}/{container}/attachments?filename=: what was uploaded.
	if name := req.URL.Query().Get("filename"); name != "" && strings.HasSuffix(req.URL.Path, "/attachments") {
		container := lastSegment(strings.TrimSuffix(req.URL.Path, "/attachments"))
		if n := r.uploads[container+"\x00"+name]; n > 0 {
			return answer(req, http.StatusOK, map[string]any{"results": []any{map[string]any{"id": "att" + container, "title": name,
				"version": map[string]any{"number": n}}}, "_links": map[string]any{}}), true
		}
	}
	segments := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	for i, s := range segments {
		m, ok := r.made[s]
		if !ok {
			continue
		}
		if i == len(segments)-1 { // the object itself
			return answer(req, http.StatusOK, map[string]any{"id": s, "spaceId": m.spaceID, "status": "current", "version": map[string]any{"number": m.version}}), true
		}
		return r.emptyAnswer(req, segments[i+1:]), true
	}
	for _, vs := range req.URL.Query() {
		for _, v := range vs {
			if _, ok := r.made[v]; ok { // a list within something made: empty
				return answer(req, http.StatusOK, emptyList()), true
			}
		}
	}
	if n, ok := r.versions[lastSegment(req.URL.Path)]; ok {
		return answer(req, http.StatusOK, map[string]any{"id": lastSegment(req.URL.Path), "version": map[string]any{"number": n}}), true
	}
	return nil, false
}

// emptyAnswer is what the site answers about part of something just made:
// an empty list, or not found for a status or a named property.
func (r *rehearsal) emptyAnswer(req *http.Request, rest []string) *http.Response {
	joined := strings.Join(rest, "/")
	if strings.HasPrefix(joined, "restriction/byOperation/") || strings.HasPrefix(joined, "property/") {
		return answer(req, http.StatusNotFound, nil)
	}
	return answer(req, http.StatusOK, emptyList())
}

func emptyList() map[string]any {
	return map[string]any{"results": []any{}, "_links": map[string]any{}, "start": 0, "limit": 25, "size": 0}
}

func versionOf(body map[string]any) int {
	v, _ := body["version"].(map[string]any)
	n, _ := v["number"].(float64)
	return int(n)
}

func lastSegment(path string) string {
	path = strings.TrimRight(path, "/")
	return path[strings.LastIndex(path, "/")+1:]
}

func hasSuffixIn(path string, set map[string]bool) bool {
	for p := range set {
		if strings.HasSuffix(path, p) {
			return true
		}
	}
	return false
}

func answer(req *http.Request, status int, body any) *http.Response {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(data)), ContentLength: int64(len(data)), Request: req}
}
