package importer

import (
	"encoding/json"
	"fmt"
	"net/url"

	"ferry/cloud"
	"ferry/model"
)

// Folders into Confluence Cloud. v2 creates a folder (POST /folders, with
// its title and a page or folder as its parent), trashes one (DELETE), and
// has no way to rename one or to purge it: a rename at the source is
// reported, and a folder deleted there goes to the destination's trash.
// Each folder made gets a ferry.source property, as pages do. v2 lists no
// folders, so a re-run without the journal finds those an earlier run
// made through the pages it made in them (and the folders above those);
// a folder whose pages that run never wrote is made again. A creation
// whose answer was lost is looked for among its parent's children; at a
// space's root there is no way to look, and it is tried again.

// folderVersion notes a folder's title. A folder is made when something
// needs it (a page or folder in it, a move into it) or at the end of the
// archive, so that it is made with its last title: v2 cannot rename it
// later. A version of a folder already made (a rename in an increment) is
// reported, not applied.
func (ci *cloudImport) folderVersion(v *model.Version, counts *Counts) error {
	if _, ok := ci.j.lookup(ci.site, "content", v.ContentID); ok {
		if v.Number > 1 {
			counts.Skipped++
			ci.report.Skipped["folder renamed at the source: Confluence Cloud's API cannot rename a folder; rename it by hand"]++
			return nil
		}
		counts.Unchanged++
		return nil
	}
	return ci.j.record(ci.site, "folder-title", v.ContentID, v.Title)
}

// written is the destination id of content the import wrote, making a
// folder that waits for it first.
func (ci *cloudImport) written(sourceID string) (string, bool, error) {
	if id, ok := ci.j.lookup(ci.site, "content", sourceID); ok {
		return id, true, nil
	}
	if _, waits := ci.j.lookup(ci.site, "folder-title", sourceID); !waits {
		return "", false, nil
	}
	id, err := ci.makeFolder(sourceID)
	return id, err == nil && id != "", err
}

// makeFolders makes the folders nothing needed (empty ones, or those
// whose pages were left out), at the end of the archive.
func (ci *cloudImport) makeFolders() error {
	for id := range ci.j.all(ci.site, "folder-title") {
		if _, _, err := ci.written(id); err != nil {
			return err
		}
	}
	return nil
}

// makeFolder makes a folder with the last title the archive gave it,
// under its parent (made first if it waits too).
func (ci *cloudImport) makeFolder(sourceID string) (string, error) {
	title, _ := ci.j.lookup(ci.site, "folder-title", sourceID)
	counts := ci.report.kind("folder")
	c := ci.pending[sourceID]
	if meta, ok := ci.j.lookup(ci.site, "content-meta", sourceID); c == nil && ok {
		c = &model.Content{}
		json.Unmarshal([]byte(meta), c)
	}
	if c == nil {
		return "", fmt.Errorf("folder %s: its creation was not seen (an increment of content copied elsewhere?)", sourceID)
	}
	space, ok := ci.j.lookup(ci.site, "space", c.SpaceID)
	if !ok {
		return "", fmt.Errorf("folder %s: its space %s was not written", sourceID, c.SpaceID)
	}
	if ci.rerun {
		if err := ci.recoverFolders(space); err != nil {
			return "", err
		}
		if id, ok := ci.j.lookup(ci.site, "content", sourceID); ok {
			delete(ci.pending, sourceID)
			counts.Unchanged++
			return id, ci.j.forget(ci.site, "folder-title", sourceID)
		}
	}
	body := map[string]any{"spaceId": space, "title": title}
	parent, parentKind := "", ""
	if c.ParentID != "" {
		p, ok, err := ci.written(c.ParentID)
		if err != nil {
			return "", err
		}
		if ok {
			body["parentId"], parent = p, p
			parentKind, _ = ci.j.lookup(ci.site, "content-kind", c.ParentID)
		}
	}
	var created struct{ ID string }
	err := writeChecked(func() error { return ci.c.Post(ci.ctx, "/wiki/api/v2/folders", body, &created) }, func() (bool, error) {
		// Made after all (the answer was lost)? Under its parent, a
		// folder of its title without a ferry.source is it. At a space's
		// root v2 cannot look: it is tried again.
		if parent == "" {
			return false, nil
		}
		orphan, err := ci.unlabelledFolder(parentKind, parent, title)
		created.ID = orphan
		return orphan != "", err
	})
	if err != nil {
		return "", fmt.Errorf("folder %s (%q): %w", sourceID, title, err)
	}
	delete(ci.pending, sourceID)
	if err := ci.j.recordAll(ci.site, sourceID, map[string]string{"content": created.ID, "content-kind": "folders"}); err != nil {
		return "", err
	}
	counts.Created++
	prov := Provenance{SourceSite: ci.site, SourceID: sourceID, ArchiveID: ci.archiveID, Author: c.Author, CreatedAt: c.CreatedAt}
	if err := ci.setProvenance("folders", created.ID, prov); err != nil {
		return "", err
	}
	return created.ID, ci.j.forget(ci.site, "folder-title", sourceID)
}

// recoverFolders finds, once per space, the folders an earlier run made:
// above the pages it made (recovered by their ferry.source), each
// folder's own ferry.source naming its source.
func (ci *cloudImport) recoverFolders(space string) error {
	if ci.recovered["folders/"+space] {
		return nil
	}
	ci.recovered["folders/"+space] = true
	if err := ci.recover("pages", space); err != nil {
		return err
	}
	var todo []string
	err := ci.c.List(ci.ctx, "/wiki/api/v2/pages", url.Values{"space-id": {space}, "limit": {"250"}, "status": cloud.Statuses["pages"]}, func(r json.RawMessage) error {
		var p struct{ ParentID, ParentType string }
		json.Unmarshal(r, &p)
		if p.ParentType == "folder" && p.ParentID != "" {
			todo = append(todo, p.ParentID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for len(todo) > 0 {
		id := todo[0]
		todo = todo[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		var f struct{ ParentID, ParentType string }
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/folders/"+id, nil, &f); err != nil {
			return err
		}
		if f.ParentType == "folder" && f.ParentID != "" {
			todo = append(todo, f.ParentID)
		}
		var props struct {
			Results []struct{ Value Provenance }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/folders/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return err
		}
		for _, p := range props.Results {
			if p.Value.SourceSite != ci.site || p.Value.SourceID == "" {
				continue
			}
			if _, known := ci.j.lookup(ci.site, "content", p.Value.SourceID); known {
				continue
			}
			if err := ci.j.recordAll(ci.site, p.Value.SourceID, map[string]string{"content": id, "content-kind": "folders"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// unlabelledFolder finds, directly under a page or folder, a folder of a
// title that has no ferry.source property.
func (ci *cloudImport) unlabelledFolder(parentKind, parent, title string) (string, error) {
	if parentKind == "" {
		parentKind = "pages"
	}
	var hits []string
	err := ci.c.List(ci.ctx, "/wiki/api/v2/"+parentKind+"/"+parent+"/direct-children", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var c struct{ ID, Type, Title string }
		json.Unmarshal(r, &c)
		if c.Type == "folder" && c.Title == title {
			hits = append(hits, c.ID)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, id := range hits {
		var props struct{ Results []json.RawMessage }
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/folders/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return "", err
		}
		if len(props.Results) == 0 {
			return id, nil
		}
	}
	return "", nil
}
