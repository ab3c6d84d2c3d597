package importer

import (
	"encoding/json"
	"errors"
	"ferry/model"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ferry/cloud"
)

// Archiving in Cloud (v1 POST /content/archive, experimental) is a task:
// a call names at most 300 pages, none of them archived already, and
// answers with a task id, whose progress GET /longtask/{id} gives; one
// archival task runs per site at a time. So ferry leaves out pages that
// are archived already (a re-run archives nothing), archives the rest 300
// at a time, and waits for each task before the next.

// archiveBatch is the most pages one archive call may name.
const archiveBatch = 300

// archivePages archives the destination pages ids names.
func (ci *cloudImport) archivePages(ids []string) error {
	todo, err := ci.notArchived(ids)
	if err != nil {
		return err
	}
	for start := 0; start < len(todo); start += archiveBatch {
		if err := ci.archive(todo[start:min(start+archiveBatch, len(todo))]); err != nil {
			return err
		}
	}
	return nil
}

// notArchived is the pages of ids not archived at the destination, asked
// 250 at a time (v2 GET /pages, id and status filters).
func (ci *cloudImport) notArchived(ids []string) ([]string, error) {
	archived := map[string]bool{}
	for start := 0; start < len(ids); start += 250 {
		chunk := ids[start:min(start+250, len(ids))]
		q := url.Values{"id": {strings.Join(chunk, ",")}, "status": {"archived"}, "limit": {"250"}}
		err := ci.c.List(ci.ctx, "/wiki/api/v2/pages", q, func(r json.RawMessage) error {
			var p struct{ ID string }
			if err := json.Unmarshal(r, &p); err != nil {
				return err
			}
			archived[p.ID] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("which pages are archived already: %w", err)
		}
	}
	var out []string
	for _, id := range ids {
		if !archived[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// archive archives up to 300 pages as one task and waits for it. A 400
// (another task running, or a page archived meanwhile) is retried after a
// wait, with what is still to archive.
func (ci *cloudImport) archive(batch []string) error {
	wait := 2 * time.Second
	for attempt := 0; ; attempt++ {
		pages := make([]map[string]int64, 0, len(batch))
		for _, id := range batch {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return fmt.Errorf("archiving page %q: not a Cloud page id", id)
			}
			pages = append(pages, map[string]int64{"id": n})
		}
		var task struct{ ID string }
		err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/content/archive", map[string]any{"pages": pages}, &task)
		var ae *cloud.APIError
		if errors.As(err, &ae) && ae.Status == 400 && attempt < 10 {
			if err := ci.c.Sleep(ci.ctx, wait); err != nil {
				return err
			}
			wait = min(2*wait, time.Minute)
			if batch, err = ci.notArchived(batch); err != nil || len(batch) == 0 {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("archiving %d pages: %w", len(batch), err)
		}
		return ci.waitArchived(task.ID, batch)
	}
}

// waitArchived waits for an archival task to finish: through its task, or,
// if Cloud named none, until the pages are archived.
func (ci *cloudImport) waitArchived(task string, batch []string) error {
	if ci.o.DryRun {
		return nil // a rehearsal starts no task
	}
	deadline := time.Now().Add(cloud.DefaultMaxWait)
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		if task != "" {
			var st struct {
				Finished, Successful bool
				Messages             []struct{ Translation string }
			}
			if err := ci.c.Get(ci.ctx, "/wiki/rest/api/longtask/"+url.PathEscape(task), nil, &st); err != nil {
				return fmt.Errorf("archival task %s: %w", task, err)
			}
			if st.Finished {
				if !st.Successful {
					var msgs []string
					for _, m := range st.Messages {
						msgs = append(msgs, m.Translation)
					}
					return fmt.Errorf("archival task %s failed: %s; run the import again", task, strings.Join(msgs, "; "))
				}
				return nil
			}
		} else if left, err := ci.notArchived(batch); err != nil || len(left) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("archival task %s still running after %s: run the import again later (pages archived by then are left as they are)", task, cloud.DefaultMaxWait)
		}
		if err := ci.c.Sleep(ci.ctx, wait); err != nil {
			return err
		}
	}
}

// unarchiveReason is why a page current at the source is archived at
// the destination.
const unarchiveReason = "page restored from the archive at the source, left archived: Cloud's API cannot unarchive"

// applyStatuses trashes and archives what the source had trashed or
// archived (both are safe to repeat), and restores from the trash what the
// source restored (v2 update with status current). Cloud's API cannot
// unarchive: a page the source unarchived stays archived, reported.
func (ci *cloudImport) applyStatuses() error {
	var archive []string
	for source, status := range ci.j.all(ci.site, "status") {
		id, ok := ci.j.lookup(ci.site, "content", source)
		kind, kok := ci.j.lookup(ci.site, "content-kind", source)
		if !ok || !kok {
			continue
		}
		switch {
		case status == "trashed":
			err := ci.c.Delete(ci.ctx, "/wiki/api/v2/"+kind+"/"+id)
			var ae *cloud.APIError
			if err != nil && !(errors.As(err, &ae) && ae.Status == 404) {
				return err
			}
		case status == "archived" && kind == "pages":
			archive = append(archive, id)
		case status == "current":
			if err := ci.restore(kind, id); err != nil {
				return err
			}
		}
	}
	slices.Sort(archive)
	return ci.archivePages(archive)
}

// restore brings content the source restored back from the destination's
// trash; content archived there stays so, reported.
func (ci *cloudImport) restore(kind, id string) error {
	var cur struct {
		Status, Title string
		Version       struct{ Number int }
	}
	err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+id, url.Values{"status": {"current,trashed,archived"}}, &cur)
	var ae *cloud.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return nil // gone: a removal will say so
	case err != nil:
		return err
	}
	switch cur.Status {
	case "trashed":
		body := map[string]any{"id": id, "status": "current", "title": cur.Title, "version": map[string]any{"number": cur.Version.Number + 1, "message": "ferry: restored, as at the source"}}
		if err := ci.c.Put(ci.ctx, "/wiki/api/v2/"+kind+"/"+id, body, nil); err != nil {
			return err
		}
		ci.report.kind(model.PageStatus.Kind()).Updated++
	case "archived":
		ci.report.Changed[unarchiveReason]++
	}
	return nil
}
