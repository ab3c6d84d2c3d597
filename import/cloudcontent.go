package importer

// Pages and blog posts into Cloud: their versions, labels, properties and
// restrictions, and how a run finds what an earlier one wrote.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/model"
)

// hasLabel reports whether content at the destination has a label. An
// archive's labels on one page come together, so the page's labels are
// read once for all of them.
func (ci *cloudImport) hasLabel(source, dest, name string) (bool, error) {
	if _, fresh := ci.known["labels:"+dest]; fresh && ci.labelsOf != dest {
		// Created by this run, with only the labels this run gave it.
		ci.labelsOf, ci.labels = dest, map[string]bool{}
	}
	if ci.labelsOf != dest {
		kind, _ := ci.j.lookup(ci.site, "content-kind", source)
		if kind == "" {
			kind = "pages"
		}
		labels := map[string]bool{}
		err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind+"/"+dest+"/labels", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
			var l struct{ Name string }
			json.Unmarshal(r, &l)
			labels[l.Name] = true
			return nil
		})
		if err != nil {
			return false, err
		}
		ci.labelsOf, ci.labels = dest, labels
	}
	return ci.labels[name], nil
}

// version writes one version of a page or blog post: the first creates it
// (unless a ferry.source property shows an earlier run did), later ones
// update it when the destination is one version behind.
func (ci *cloudImport) version(t model.EventType, ev *archive.Event, v *model.Version, counts *Counts) error {
	if err := ci.toStorage(v); err != nil {
		return err
	}
	kind := "pages"
	if t == model.BlogpostVersion {
		kind = "blogposts"
	}
	message := fmt.Sprintf("ferry: version %d by %s at %s", v.Number, v.Author, v.At.UTC().Format(time.RFC3339))
	if v.Message != "" {
		message += ": " + v.Message
	}
	id, ok := ci.j.lookup(ci.site, "content", v.ContentID)
	if !ok {
		c := ci.pending[v.ContentID]
		if meta, ok := ci.j.lookup(ci.site, "content-meta", v.ContentID); c == nil && ok {
			c = &model.Content{}
			json.Unmarshal([]byte(meta), c)
		}
		if c == nil {
			return fmt.Errorf("content %s: its creation was not seen (an increment of content copied elsewhere?)", v.ContentID)
		}
		space, ok := ci.j.lookup(ci.site, "space", c.SpaceID)
		if !ok {
			return fmt.Errorf("content %s: its space %s was not written", v.ContentID, c.SpaceID)
		}
		// Written by an earlier run whose journal is gone? Titles change
		// across versions, so the space is scanned once for ferry.source.
		if err := ci.recover(kind, space); err != nil {
			return err
		}
		found, _ := ci.j.lookup(ci.site, "content", v.ContentID)
		if found == "" && ci.rerun {
			// Created by a run killed before it could label it?
			orphan, err := ci.findByProvenance(kind, space, v.Title, "")
			if err != nil {
				return err
			}
			if orphan != "" {
				prov := Provenance{SourceSite: ci.site, SourceID: v.ContentID, ArchiveID: ci.archiveID, Author: c.Author, CreatedAt: c.CreatedAt}
				if err := ci.setProvenance(kind, orphan, prov); err != nil {
					return err
				}
				found = orphan
			}
		}
		if found == "" && kind == "pages" {
			// The space's homepage: its versions are written onto the one
			// Cloud made, from the first.
			home, err := ci.homepage(c, space, v)
			if err != nil {
				return err
			}
			found = home
		}
		if found != "" {
			id = found
		} else {
			body := map[string]any{"spaceId": space, "status": "current",
				"body": map[string]any{"representation": representation(v), "value": v.Body}}
			if c.ParentID != "" {
				parent, ok, err := ci.written(c.ParentID)
				if err != nil {
					return err
				}
				if ok {
					body["parentId"] = parent
				}
			}
			var created struct{ ID string }
			err := ci.withTitle(kind, v.ContentID, v.Title, true, func(title string) error {
				body["title"] = title
				path := "/wiki/api/v2/" + kind
				if kind == "pages" && body["parentId"] == nil {
					path += "?root-level=true" // else Cloud puts it under the space's homepage
				}
				return writeChecked(func() error { return ci.c.Post(ci.ctx, path, body, &created) }, func() (bool, error) {
					// Created after all (the answer was lost)? It has no
					// property yet: a same-titled page without one is it.
					orphan, err := ci.findByProvenance(kind, space, title, "")
					created.ID = orphan
					return orphan != "", err
				})
			}, nil)
			if errors.Is(err, errTitleSkipped) {
				delete(ci.pending, v.ContentID)
				counts.Skipped++
				ci.report.Skipped[titleSkipReason]++
				return ci.skipContent(v.ContentID)
			}
			if err != nil {
				return err
			}
			id = created.ID
			ci.remember("/wiki/api/v2/"+kind+"/"+id, 1)
			ci.remember("labels:"+id, 0)  // none yet
			ci.remember("created:"+id, 1) // and no attachments or properties
			prov := Provenance{SourceSite: ci.site, SourceID: v.ContentID, ArchiveID: ci.archiveID, Author: c.Author, CreatedAt: c.CreatedAt}
			if err := ci.setProvenance(kind, id, prov); err != nil {
				return err
			}
			if kind == "pages" {
				if owner, err := ci.owner(c); err != nil {
					return err
				} else if owner != "" {
					if err := ci.j.record(ci.site, "owner-wanted", v.ContentID, owner); err != nil {
						return err
					}
				}
			}
			counts.Created++
		}
		delete(ci.pending, v.ContentID)
		if err := ci.j.recordAll(ci.site, v.ContentID, map[string]string{"content": id, "content-kind": kind}); err != nil {
			return err
		}
		if found == "" {
			return nil // version 1 was written with the page
		}
	}
	n := v.Number + ci.versionOffset(v.ContentID)
	body := map[string]any{"id": id, "status": "current", "body": map[string]any{"representation": representation(v), "value": v.Body},
		"version": map[string]any{"number": n, "message": message}}
	owner, moveOwner := ci.j.lookup(ci.site, "owner-wanted", v.ContentID)
	if moveOwner && kind == "pages" {
		body["ownerId"] = owner // the page's first update: to its source author
	}
	write := func() error {
		return ci.withTitle(kind, v.ContentID, v.Title, false, func(title string) error {
			body["title"] = title
			return ci.nextVersion("/wiki/api/v2/"+kind+"/"+id, "content "+v.ContentID, n, body, counts)
		}, func(title string) (bool, error) { return ci.titleInUse(kind, id, title) })
	}
	err := ci.withOwner(body, write)
	if err == nil && moveOwner {
		err = ci.j.forget(ci.site, "owner-wanted", v.ContentID)
	}
	return err
}

// ownerUnlinked and ownerUnmoved are why a page's owner at the
// destination is the importing account rather than its source author.
const (
	ownerUnlinked = "page owned by the importing account: its source author has no account that may use the destination"
	ownerUnmoved  = "page owned by the importing account: Cloud creates a page as the caller's and moves its owner only with an update, and the source page has no later version"
	ownerRefused  = "page owned by the importing account: the destination refused its source author as owner"
)

// owner is the destination account a page written from c should belong
// to: its source author's, when linked and not the importing account
// itself ("" otherwise, reported when the author could not be linked).
func (ci *cloudImport) owner(c *model.Content) (string, error) {
	if c.Author == "" {
		return "", nil
	}
	dest, ok := ci.j.lookup(ci.site, "user", c.Author)
	if !ok {
		ci.report.Changed[ownerUnlinked]++
		return "", nil
	}
	me, err := ci.account()
	if err != nil || dest == me {
		return "", err
	}
	return dest, nil
}

// withOwner runs write, which sends body; if the destination refuses the
// owner it names (400: an author whose access could not be checked, and
// who has none), it runs it again without one, reported.
func (ci *cloudImport) withOwner(body map[string]any, write func() error) error {
	err := write()
	var ae *cloud.APIError
	if body["ownerId"] != nil && errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		delete(body, "ownerId")
		if err = write(); err == nil {
			ci.report.Changed[ownerRefused]++
		}
	}
	return err
}

// reportOwners counts the pages still owned by the importing account for
// want of a later version to move their owner with.
func (ci *cloudImport) reportOwners() {
	if n := ci.j.count(ci.site, "owner-wanted"); n > 0 {
		ci.report.Changed[ownerUnmoved] = int64(n)
	}
}

// nextVersion writes version n of the page, blog post or comment at path
// when the destination has version n-1; it counts a version already there
// as unchanged, a retried update included (Confluence answers it 409).
func (ci *cloudImport) nextVersion(path, what string, n int, body map[string]any, counts *Counts) error {
	var current struct {
		Version struct{ Number int }
	}
	// What this run wrote last there, it knows; anything else is asked.
	if k, ok := ci.known[path]; ok && k == n-1 {
		current.Version.Number = k
	} else if err := ci.c.Get(ci.ctx, path, nil, &current); err != nil {
		return err
	}
	switch {
	case current.Version.Number >= n:
		counts.Unchanged++
		return nil
	case current.Version.Number != n-1:
		return fmt.Errorf("%s is at version %d at the destination, so version %d cannot follow", what, current.Version.Number, n)
	}
	var after struct {
		Version struct{ Number int }
	}
	err := ci.c.Put(ci.ctx, path, body, &after)
	if err == nil && after.Version.Number != 0 && after.Version.Number < n {
		// It was in the destination's trash: an update with status current
		// only restores it (v2 spec). The source has it, edited: write the
		// version now.
		err = ci.c.Put(ci.ctx, path, body, &after)
	}
	if err != nil {
		delete(ci.known, path)
		var ae *cloud.APIError
		if errors.As(err, &ae) && ae.Status == 409 {
			if gerr := ci.c.Get(ci.ctx, path, nil, &current); gerr == nil && current.Version.Number >= n {
				counts.Unchanged++
				return nil
			}
		}
		return err
	}
	ci.remember(path, n)
	counts.Updated++
	return nil
}

// property sets a content property unless the destination has one of that
// key (the same value: unchanged; another: left alone and reported).
func (ci *cloudImport) property(p *model.Property, counts *Counts) error {
	container, ok := ci.j.lookup(ci.site, "content", p.ContainerID)
	kind, kok := ci.j.lookup(ci.site, "content-kind", p.ContainerID)
	if !ok || !kok || p.Key == ProvenanceKey {
		counts.Skipped++
		ci.report.Skipped["property of content not at the destination"]++
		return nil
	}
	path := "/wiki/api/v2/" + kind + "/" + container + "/properties"
	existing := func() (json.RawMessage, bool, error) {
		var props struct {
			Results []struct{ Value json.RawMessage }
		}
		err := ci.c.Get(ci.ctx, path, url.Values{"key": {p.Key}}, &props)
		if err != nil || len(props.Results) == 0 {
			return nil, false, err
		}
		return props.Results[0].Value, true, nil
	}
	var value json.RawMessage
	var found bool
	var err error
	written := "property:" + container + "/" + p.Key
	if _, fresh := ci.known["created:"+container]; !fresh || ci.known[written] > 0 {
		value, found, err = existing() // (content this run made has only what it gave it)
	}
	switch {
	case err != nil:
		return err
	case found && jsonEqual(value, p.Value):
		counts.Unchanged++
		return nil
	case found:
		counts.Skipped++
		ci.report.Skipped["content property the destination has with another value (never overwritten)"]++
		return nil
	}
	err = writeChecked(func() error { return ci.c.Post(ci.ctx, path, map[string]any{"key": p.Key, "value": p.Value}, nil) }, func() (bool, error) {
		_, found, err := existing()
		return found, err
	})
	if err != nil {
		return err
	}
	ci.remember(written, 1)
	counts.Created++
	return nil
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// restriction adds a read or update restriction (v1); a PUT of one that
// is there changes nothing, so it is safe to repeat.
func (ci *cloudImport) restriction(r *model.Restriction, counts *Counts) error {
	container, ok := ci.j.lookup(ci.site, "content", r.ContainerID)
	principal, pok := ci.j.lookup(ci.site, r.PrincipalType, r.PrincipalID)
	what := r.Operation + " restriction on " + r.ContainerID
	if r.PrincipalType == "user" && ci.withheld(r.PrincipalID, what, counts) {
		return nil
	}
	if !ok || !pok || (r.PrincipalType != "user" && r.PrincipalType != "group") {
		counts.Skipped++
		ci.report.Skipped["restriction on content, or for a user or group, not at the destination"]++
		return nil
	}
	path := "/wiki/rest/api/content/" + container + "/restriction/byOperation/" + url.PathEscape(r.Operation)
	if r.PrincipalType == "user" {
		path += "/user?accountId=" + url.QueryEscape(principal)
	} else {
		path += "/byGroupId/" + url.PathEscape(principal)
	}
	// Adding one that is there changes nothing, but a re-run should not
	// write at all: the journal knows, or Cloud answers on the same path.
	key := strings.Join([]string{r.ContainerID, r.Operation, r.PrincipalType, r.PrincipalID}, ":")
	if _, done := ci.j.lookup(ci.site, "restriction", key); done {
		counts.Unchanged++
		return nil
	}
	err := ci.c.Get(ci.ctx, path, nil, nil)
	var ae *cloud.APIError
	switch {
	case err == nil:
		counts.Unchanged++
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		if err := ci.c.Put(ci.ctx, path, nil, nil); err != nil {
			if r.PrincipalType == "user" && ci.refused(r.PrincipalID, what, err, counts) {
				return nil
			}
			return err
		}
		counts.Created++
	default:
		return err
	}
	return ci.j.record(ci.site, "restriction", key, "1")
}

// representation names a version's body format for the API: Cloud takes
// old wiki markup (from XML exports) and converts it.
func representation(v *model.Version) string {
	if v.Format == "wiki" {
		return "wiki"
	}
	return "storage"
}

// setProvenance gives created content its ferry.source property.
func (ci *cloudImport) setProvenance(kind, id string, prov Provenance) error {
	return writeChecked(func() error {
		return ci.c.Post(ci.ctx, "/wiki/api/v2/"+kind+"/"+id+"/properties", map[string]any{"key": ProvenanceKey, "value": prov}, nil)
	}, func() (bool, error) {
		var props struct{ Results []json.RawMessage }
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props)
		return len(props.Results) > 0, err
	})
}

// recover scans a space's pages or blog posts once for ferry.source
// properties naming this source site, and records them in the journal.
func (ci *cloudImport) recover(kind, space string) error {
	if ci.recovered[kind+"/"+space] {
		return nil
	}
	ci.recovered[kind+"/"+space] = true
	var ids []string
	err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind, url.Values{"space-id": {space}, "limit": {"250"}, "status": cloud.Statuses[kind]}, func(r json.RawMessage) error {
		var c struct{ ID string }
		json.Unmarshal(r, &c)
		ids = append(ids, c.ID)
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		var props struct {
			Results []struct{ Value Provenance }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return err
		}
		for _, p := range props.Results {
			if p.Value.SourceSite == ci.site && p.Value.SourceID != "" {
				if _, known := ci.j.lookup(ci.site, "content", p.Value.SourceID); !known {
					records := map[string]string{"content": id, "content-kind": kind}
					if p.Value.VersionOffset > 0 {
						records["version-offset"] = strconv.Itoa(p.Value.VersionOffset)
					}
					if err := ci.j.recordAll(ci.site, p.Value.SourceID, records); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// findByProvenance looks for content an earlier run created: same space
// and title, and a ferry.source property naming this source content; with
// an empty sourceID, same-titled content without the property.
func (ci *cloudImport) findByProvenance(kind, space, title, sourceID string) (string, error) {
	var hits []string
	err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind, url.Values{"space-id": {space}, "title": {title}, "status": cloud.Statuses[kind]}, func(r json.RawMessage) error {
		var c struct{ ID string }
		json.Unmarshal(r, &c)
		hits = append(hits, c.ID)
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, id := range hits {
		var props struct {
			Results []struct{ Value Provenance }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return "", err
		}
		if sourceID == "" && len(props.Results) == 0 {
			return id, nil
		}
		for _, p := range props.Results {
			if sourceID != "" && p.Value.SourceSite == ci.site && p.Value.SourceID == sourceID {
				return id, nil
			}
		}
	}
	return "", nil
}

// remember notes what this run wrote last at a key (a page's, comment's or
// attachment's version; "labels:ID" for content it created). Writes come
// in the archive's order, the versions of one thing together, so a
// bounded memory serves: past 10,000 keys it starts again, and what is
// not remembered is asked of the site.
func (ci *cloudImport) remember(key string, n int) {
	if len(ci.known) >= 10000 {
		clear(ci.known)
	}
	ci.known[key] = n
}
