package sandbox

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Space properties, v2 (/spaces/{space-id}/properties): v1's are going
// away (CONFCLOUD-77052). They are the same properties v1 serves, kept in
// the space's settings ("property:KEY", with "propversion:KEY").

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/spaces/{id}/properties", s.spaceProps)
		s.handle("POST /wiki/api/v2/spaces/{id}/properties", s.createSpaceProp)
		s.handle("GET /wiki/api/v2/spaces/{id}/properties/{pid}", s.spacePropByID(http.MethodGet))
		s.handle("PUT /wiki/api/v2/spaces/{id}/properties/{pid}", s.spacePropByID(http.MethodPut))
		s.handle("DELETE /wiki/api/v2/spaces/{id}/properties/{pid}", s.spacePropByID(http.MethodDelete))
	})
}

// spaceProp is one property as v2 answers it (SpaceProperty).
type spaceProp struct {
	key     string
	value   json.RawMessage
	version int
}

// spacePropsOf reads a space's properties: the space's id and key, and
// its properties by key.
func (s *Server) spacePropsOf(rowid string) (id, key string, props map[string]spaceProp, ok bool) {
	var settings string
	if err := s.site.DB().QueryRow(`SELECT id, key, settings FROM spaces WHERE rowid = ? AND deleted_rev IS NULL`, rowid).Scan(&id, &key, &settings); err != nil {
		return "", "", nil, false
	}
	var all map[string]json.RawMessage
	json.Unmarshal([]byte(settings), &all)
	props = map[string]spaceProp{}
	for k, v := range all {
		if name, isProp := strings.CutPrefix(k, "property:"); isProp {
			p := spaceProp{key: name, value: v, version: 1}
			if n, err := strconv.Atoi(string(all["propversion:"+name])); err == nil {
				p.version = n
			}
			props[name] = p
		}
	}
	return id, key, props, true
}

func spacePropJSON(spaceKey string, p spaceProp) map[string]any {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return map[string]any{"id": strconv.FormatInt(propertyID("space:"+spaceKey, p.key), 10), "key": p.key, "value": p.value,
		"createdAt": now, "createdBy": CallerAccount,
		"version": map[string]any{"number": p.version, "createdAt": now, "createdBy": CallerAccount, "message": ""}}
}

func (s *Server) spaceProps(w http.ResponseWriter, r *http.Request) {
	_, key, props, ok := s.spacePropsOf(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	if _, _, ok := listArgs(w, r); !ok {
		return
	}
	results := []any{}
	for _, p := range sortedProps(props) {
		if want := r.URL.Query().Get("key"); want == "" || want == p.key {
			results = append(results, spacePropJSON(key, p))
		}
	}
	writeList(w, r, results, "", false)
}

func sortedProps(props map[string]spaceProp) []spaceProp {
	out := slices.Collect(maps.Values(props))
	slices.SortFunc(out, func(a, b spaceProp) int { return strings.Compare(a.key, b.key) })
	return out
}

// setSpaceProp writes a property's value and version into the settings.
func (s *Server) setSpaceProp(id string, p spaceProp) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.site.DB().Exec(`UPDATE spaces SET settings = json_set(settings, '$."property:' || ?1 || '"', json(?2), '$."propversion:' || ?1 || '"', ?3) WHERE id = ?4`,
		p.key, string(p.value), p.version, id)
	return err
}

func (s *Server) createSpaceProp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if !readBody(w, r, &req) {
		return
	}
	id, key, props, ok := s.spacePropsOf(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return
	}
	if req.Key == "" || !json.Valid(req.Value) {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "a property needs a key and a JSON value")
		return
	}
	if _, exists := props[req.Key]; exists {
		// The spec answers 400 for a bad request; a key in use is one
		// (the stricter reading: not overwritten).
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "A property with key "+req.Key+" already exists")
		return
	}
	p := spaceProp{key: req.Key, value: req.Value, version: 1}
	if err := s.setSpaceProp(id, p); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "write failed")
		return
	}
	writeJSONStatus(w, http.StatusCreated, spacePropJSON(key, p))
}

func (s *Server) spacePropByID(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, key, props, ok := s.spacePropsOf(r.PathValue("id"))
		var p spaceProp
		found := false
		for _, q := range props {
			if strconv.FormatInt(propertyID("space:"+key, q.key), 10) == r.PathValue("pid") {
				p, found = q, true
			}
		}
		if !ok || !found {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		switch method {
		case http.MethodGet:
			writeJSON(w, spacePropJSON(key, p))
		case http.MethodDelete:
			s.wmu.Lock()
			_, err := s.site.DB().Exec(`UPDATE spaces SET settings = json_remove(settings, '$."property:' || ?1 || '"', '$."propversion:' || ?1 || '"') WHERE id = ?2`, p.key, id)
			s.wmu.Unlock()
			if err != nil {
				writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "delete failed")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPut:
			var req struct {
				Key     string          `json:"key"`
				Value   json.RawMessage `json:"value"`
				Version struct {
					Number int `json:"number"`
				} `json:"version"`
			}
			if !readBody(w, r, &req) {
				return
			}
			if req.Key != p.key || !json.Valid(req.Value) || req.Version.Number != p.version+1 {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "give the property's key, a JSON value, and version.number "+strconv.Itoa(p.version+1))
				return
			}
			p.value, p.version = req.Value, req.Version.Number
			if err := s.setSpaceProp(id, p); err != nil {
				writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "write failed")
				return
			}
			writeJSON(w, spacePropJSON(key, p))
		}
	}
}
