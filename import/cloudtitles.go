package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"ferry/archive"
	"ferry/cloud"
	"ferry/model"
)

// Titles are unique within a space in Confluence Cloud, among its pages
// and among its blog posts, archived ones included: a create or an update
// to a title in use is refused. Sources are not bound by that (Server's
// blog posts are unique per day), and the destination may have its own
// pages. What happens then is the title policy: --on-conflict when it was
// given, else a rename to "TITLE (copied)", "TITLE (copied 2)", ..., the
// first that is free. The rename is noted in the journal, so later
// versions and a re-run keep it; content is recognised by its ferry.source
// property, never by its title. With skip, the content and everything in
// it (its comments, attachments, labels and child pages) are left out and
// reported; with fail, the import stops there, and a re-run with another
// policy resumes.

// maxTitleTries bounds the renames tried for one title.
const maxTitleTries = 50

// errTitleSkipped says content was left out for its title.
var errTitleSkipped = errors.New("title taken at the destination: left out")

// titleSkipReason is the report's line for content left out so.
const titleSkipReason = "title taken in its space at the destination (--on-conflict skip): the content and everything in it left out"

// titlePolicy is what a taken title does.
func (ci *cloudImport) titlePolicy() Policy {
	if ci.o.OnTitleConflict != "" {
		return ci.o.OnTitleConflict
	}
	return Rename
}

// copiedTitle is the n-th rename of a title (0 is the title itself).
func copiedTitle(title string, n int) string {
	switch n {
	case 0:
		return title
	case 1:
		return title + " (copied)"
	}
	return fmt.Sprintf("%s (copied %d)", title, n)
}

// isTitleTaken reports whether Cloud refused a write for its title. Its
// texts (v2 and v1): "A page with this title already exists: A page
// already exists with the same TITLE in this space", "... with the title
// T in the space with key K".
func isTitleTaken(err error) bool {
	var ae *cloud.APIError
	if !errors.As(err, &ae) || (ae.Status != 400 && ae.Status != 409) {
		return false
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "title already exists") || strings.Contains(m, "already exists with the same title") || strings.Contains(m, "already exists with the title")
}

// withTitle writes content under its title, or under the title the policy
// gives when the destination has it. write sends one attempt; taken, when
// not nil, says whether a refusal that is not plainly about the title was
// for it all the same (Cloud's answer to an update can be misleading).
func (ci *cloudImport) withTitle(kind, sourceID, title string, creating bool, write func(string) error, taken func(string) (bool, error)) error {
	start := ci.titleStart(sourceID, title)
	for n := start; n <= maxTitleTries; n++ {
		t := copiedTitle(title, n)
		err := write(t)
		if err == nil {
			if n > 0 {
				if err := ci.j.record(ci.site, "title", sourceID, strconv.Itoa(n)+"\t"+title); err != nil {
					return err
				}
				if n > start || creating {
					ci.report.Renamed = append(ci.report.Renamed, fmt.Sprintf("%s %s: the title %q is taken in its space at the destination; written as %q", singular(kind), sourceID, title, t))
				}
			}
			return nil
		}
		clash := isTitleTaken(err)
		var ae *cloud.APIError
		if !clash && taken != nil && errors.As(err, &ae) && (ae.Status == 400 || ae.Status == 409) {
			var terr error
			if clash, terr = taken(t); terr != nil {
				return errors.Join(err, terr)
			}
		}
		if !clash {
			return err
		}
		switch ci.titlePolicy() {
		case Fail:
			skip := "skip leaves it out"
			if !creating {
				skip = "skip renames a later version too: it cannot be left out"
			}
			return fmt.Errorf("%s %s: the title %q is taken in its space at the destination; stopped here (--on-conflict rename writes it as %q, %s; run again to resume)", singular(kind), sourceID, t, copiedTitle(title, n+1), skip)
		case Skip:
			if creating {
				return errTitleSkipped
			}
			// A later version cannot be left out without breaking the
			// history after it: it is renamed, and reported.
		}
	}
	return fmt.Errorf("%s %s: the title %q and %d renames of it are all taken in its space at the destination", singular(kind), sourceID, title, maxTitleTries)
}

// titleStart is where a title's renames start: where an earlier version
// (or run) of this content ended up, if it had this title.
func (ci *cloudImport) titleStart(sourceID, title string) int {
	v, ok := ci.j.lookup(ci.site, "title", sourceID)
	if !ok {
		return 0
	}
	n, orig, _ := strings.Cut(v, "\t")
	if orig != title {
		return 0
	}
	k, _ := strconv.Atoi(n)
	return k
}

// titleInUse reports whether other content in the space of content self
// has a title.
func (ci *cloudImport) titleInUse(kind, self, title string) (bool, error) {
	var c struct {
		SpaceID string `json:"spaceId"`
	}
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+self, nil, &c); err != nil {
		return false, err
	}
	inUse := false
	err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind, url.Values{"space-id": {c.SpaceID}, "title": {title}, "status": cloud.Statuses[kind]}, func(r json.RawMessage) error {
		var c struct{ ID string }
		json.Unmarshal(r, &c)
		inUse = inUse || c.ID != self
		return nil
	})
	return inUse, err
}

// skipContent leaves content out, with everything in it, from now on and
// in later runs.
func (ci *cloudImport) skipContent(sourceID string) error {
	ci.skipped[sourceID] = true
	return ci.j.record(ci.site, "content-skipped", sourceID, "title")
}

// inSkipped reports whether an event belongs to content left out: the
// content itself, or something in it (a child page, a comment, an
// attachment, a label), which is then left out as well.
func (ci *cloudImport) inSkipped(t model.EventType, ev *archive.Event) bool {
	if len(ci.skipped) == 0 || !contentKinds[t.Kind()] {
		return false
	}
	if ci.skipped[ev.ID] {
		return true
	}
	if ci.skipped[ev.Parent] {
		if err := ci.skipContent(ev.ID); err != nil {
			ci.skipErr = err
		}
		return true
	}
	return false
}

// contentKinds are the kinds whose events' Parent is content.
var contentKinds = map[string]bool{"page": true, "blogpost": true, "comment": true, "attachment": true, "label": true, "property": true, "restriction": true, "like": true}

// singular names one of a v2 list's kind ("pages" → "page").
func singular(kind string) string { return strings.TrimSuffix(kind, "s") }
