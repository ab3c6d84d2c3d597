package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/model"
)

// ProvenanceKey is the content property every page and blog post ferry
// creates in Confluence Cloud carries: where it came from. A re-run finds
// what it already wrote through it, even without its journal.
const ProvenanceKey = "ferry.source"

// Provenance is the value of the ferry.source property.
type Provenance struct {
	SourceSite string    `json:"source_site"`
	SourceID   string    `json:"source_id"`
	ArchiveID  string    `json:"archive_id"`
	Author     string    `json:"original_author,omitempty"`
	CreatedAt  time.Time `json:"original_created_at"`
	// Groups, on spaces: the destination group of every source group the
	// import had matched when it created the space. Cloud groups carry no
	// properties, so this is how a run without its journal finds them.
	Groups map[string]string `json:"groups,omitempty"`
	// CreatedGroups, on spaces: the source groups of those the import
	// created (not merged into), which later archives may change.
	CreatedGroups []string `json:"created_groups,omitempty"`
	// VersionOffset, on a space's homepage: the versions the destination's
	// own homepage had before the source homepage's were written onto it
	// (source version n is destination version n+VersionOffset).
	VersionOffset int `json:"version_offset,omitempty"`
	// InlineFallback, on a comment: why an inline comment was written as a
	// footer comment quoting its selection.
	InlineFallback string `json:"inline_fallback,omitempty"`
}

// notWrittenToCloud is why events of other kinds are left out, for now.
const notWrittenToCloud = "not written to Confluence Cloud by this version of ferry (it writes spaces, permissions, groups, memberships, pages and blog posts with their history, moves and status, comments, attachments, labels, restrictions and content properties, and their removals)"

// RunCloud imports the archive at path into a Confluence Cloud site through
// its REST API: spaces, pages and blog posts with every version (whose
// messages name the original author and time), and labels. There are no transactions
// across HTTP requests: a journal file (a small SQLite file) records what
// was written and how far the import got, and every created page carries
// a ferry.source property, so an interrupted or repeated import writes
// nothing twice, even when the journal was lost.
func RunCloud(ctx context.Context, path string, c *cloud.Client, journal string, o Options) (*Report, error) {
	if o.OnConflict == Rename {
		return nil, errNoRenameInCloud
	}
	a, err := OpenArchive(path, o)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return RunCloudArchive(ctx, a, c, journal, o)
}

var errNoRenameInCloud = fmt.Errorf("--on-conflict rename is not available for Confluence Cloud yet: use fail or skip")

// RunCloudArchive is RunCloud of an archive OpenArchive opened.
func RunCloudArchive(ctx context.Context, a *Archive, c *cloud.Client, journal string, o Options) (*Report, error) {
	start := time.Now()
	if o.OnConflict == "" {
		o.OnConflict = Fail
	}
	if o.OnConflict == Rename {
		return nil, errNoRenameInCloud
	}
	f, path := a.File, a.Path
	h := f.Header()
	if err := cloudPreflight(ctx, c); err != nil {
		return nil, fmt.Errorf("preflight: %w; nothing was imported", err)
	}
	if o.DryRun {
		// The same run, rehearsed: the site sees reads only, and the
		// journal is a copy in memory.
		c = c.Rehearsal()
	} else {
		// Restricted content is invisible without an admin key, even to
		// the import's own writes once it restricts a page to others. A
		// site without keys (Standard) is imported with what the
		// account can see.
		if _, err := c.EnableAdminKey(ctx); err != nil {
			return nil, fmt.Errorf("preflight: asking for an admin key: %w; nothing was imported", err)
		}
		defer c.DisableAdminKey(ctx)
	}
	j, err := openJournal(journal, o.DryRun)
	if err != nil {
		return nil, err
	}
	defer j.db.Close()
	ci := &cloudImport{ctx: ctx, c: c, j: j, f: f, site: h.Source.SiteID, archiveID: h.ArchiveID, o: o, skipKeys: map[string]bool{}, skipped: map[string]bool{},
		pending: map[string]*model.Content{}, spaceIDs: map[string]string{}, checked: map[string]bool{}, grants: map[string]map[string]bool{}, recovered: map[string]bool{}, attachments: map[string]*model.Attachment{}, comments: map[string]*model.Comment{},
		report: &Report{Archive: path, ArchiveID: h.ArchiveID, DryRun: o.DryRun, Kinds: map[string]*Counts{}, NotCopied: map[string]int64{},
			Skipped: map[string]int64{}, Changed: map[string]int64{}, Conflicts: []string{}, Merges: []GroupMerge{}, Linked: []string{}, Duplicates: []string{}, MissingApps: []string{}}}
	if h.ParentID != "" {
		if _, done := j.progress(h.ParentID); !done {
			return nil, fmt.Errorf("archive %s continues archive %s, which this journal (%s) has not imported: import that archive first", h.ArchiveID, h.ParentID, journal)
		}
	}
	for id := range j.all(ci.site, "content-skipped") {
		ci.skipped[id] = true
	}
	from, done := j.progress(h.ArchiveID)
	ci.report.Events = f.Manifest().Events.Count
	if done {
		for t, n := range f.Manifest().Events.ByType {
			ci.report.kind(model.EventType(t).Kind()).Unchanged += n
		}
		return ci.report, nil
	}
	var wouldStop []error // in a dry run: what would stop the real one
	if err := ci.preflight(); err != nil {
		if !o.DryRun || !errors.Is(err, errWouldStop) {
			return ci.report, err
		}
		wouldStop = append(wouldStop, err)
	}
	ci.report.ResumedFrom = from
	// A run after another (resumed, re-run without its journal, or an
	// increment) may find what a killed run wrote and could not record.
	ci.rerun = from > 0 || len(ci.j.all(ci.site, "space")) > 0
	if err := ci.apply(from); err != nil {
		return ci.report, err
	}
	if err := ci.makeFolders(); err != nil {
		return ci.report, err
	}
	ci.reportWaiting()
	if err := ci.applyStatuses(); err != nil {
		return ci.report, err
	}
	ci.report.Seconds = time.Since(start).Seconds()
	if len(wouldStop) > 0 {
		return ci.report, wouldStopError(wouldStop)
	}
	return ci.report, j.checkpoint(h.ArchiveID, ci.last, true)
}

// cloudPreflight checks, before any write, that the credentials work and
// that the account may create spaces and administer the site, and says
// exactly which right is missing.
func cloudPreflight(ctx context.Context, c *cloud.Client) error {
	err := c.CheckRights(ctx, cloud.Right{Operation: "create_space application", Why: "create the archive's spaces"},
		cloud.Right{Operation: "administer application", Why: "administer the site (site admin), which copying permissions and groups needs"})
	if err != nil {
		return err
	}
	return c.Get(ctx, "/wiki/api/v2/spaces", url.Values{"limit": {"1"}}, nil)
}

type cloudImport struct {
	ctx         context.Context
	c           *cloud.Client
	j           *journal
	f           *archive.File
	site        string
	archiveID   string
	o           Options
	report      *Report
	skipKeys    map[string]bool              // upper-cased space keys left out
	pending     map[string]*model.Content    // created content waiting for its first version
	recovered   map[string]bool              // kinds and spaces scanned for provenance
	attachments map[string]*model.Attachment // created attachments, for their versions
	comments    map[string]*model.Comment    // created comments, for their versions
	rerun       bool                         // a run may have written before this one
	labelsOf    string                       // the content whose labels are in labels
	groups      []model.Group                // the groups the archive creates
	anchor      *model.Space                 // where the group intent is kept (see groupIntent)
	intent      map[string]string            // source group id → name it was created under
	anchorEarly bool                         // the anchor was created before its event
	labels      map[string]bool
	membersOf   string // the destination group whose members are in members
	members     map[string]bool
	skipped     map[string]bool            // source content left out for its title, and what is in it
	skipErr     error                      // a failure to note a skip, reported after the event
	last        int64                      // seq of the last event applied
	me          string                     // the importing account
	spaceIDs    map[string]string          // upper-cased space key → source space id
	checked     map[string]bool            // source spaces whose permissions were read back (checkSpace)
	grants      map[string]map[string]bool // destination space → its grants (destGrants)
}

// applyStatuses trashes and archives what the source had trashed or
// archived (both are safe to repeat). A page restored at the source stays
// as the destination has it.
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
		}
	}
	slices.Sort(archive)
	return ci.archivePages(archive)
}

// billReview finds, before any write, which of the archive's users have
// an account at the destination (they are linked) and which do not
// (inviting them grows the bill), asking 100 at a time. add takes a user
// event; flush asks about what is left.
type billReview struct {
	ci    *cloudImport
	batch []string
}

func (b *billReview) add(accountID string) error {
	if _, known := b.ci.j.lookup(b.ci.site, "user", accountID); known {
		return nil
	}
	if b.batch = append(b.batch, accountID); len(b.batch) == 100 {
		return b.flush()
	}
	return nil
}

func (b *billReview) flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	var found struct {
		Results []struct{ AccountID string }
	}
	if err := b.ci.c.PostRepeatable(b.ci.ctx, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": b.batch}, &found); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	known := map[string]bool{}
	for _, u := range found.Results {
		known[u.AccountID] = true
	}
	for _, id := range b.batch {
		if known[id] {
			b.ci.report.Linked = append(b.ci.report.Linked, id)
		} else {
			b.ci.report.NewBillable++
		}
	}
	b.batch = b.batch[:0]
	return nil
}

// adoptSpace takes a space a run killed between creating it and labelling
// it left without its ferry.source property: one this journal says it
// was about to create, or, without the journal, one of the same key and
// name that holds no page yet. propErr is how reading its property failed.
func (ci *cloudImport) adoptSpace(sp *model.Space, id, key string, propErr error) (bool, error) {
	if !notFound(propErr) {
		return false, nil // it has a property: another site's, or unreadable
	}
	intent, _ := ci.j.lookup(ci.site, "space-intent", sp.ID)
	if !strings.EqualFold(intent, key) {
		var found struct {
			ID, Name string
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces/"+id, nil, &found); err != nil || found.Name != sp.Name {
			return false, err
		}
		var pages struct{ Results []json.RawMessage }
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/pages", url.Values{"space-id": {id}, "limit": {"1"}, "status": cloud.Statuses["pages"]}, &pages); err != nil || len(pages.Results) > 0 {
			return false, err
		}
	}
	if ci.o.DryRun {
		return true, nil // it would be taken; a dry run writes nothing
	}
	prov := Provenance{SourceSite: ci.site, SourceID: sp.ID, ArchiveID: ci.archiveID, Author: sp.Author, CreatedAt: sp.CreatedAt, Groups: ci.j.all(ci.site, "group"),
		CreatedGroups: slices.Sorted(maps.Keys(ci.j.all(ci.site, "group-owned")))}
	if err := ci.addSpaceProperty(id, ProvenanceKey, prov); err != nil {
		return false, err
	}
	if err := ci.j.record(ci.site, "space-key", sp.ID, key); err != nil {
		return false, err
	}
	return true, ci.j.record(ci.site, "space", sp.ID, id)
}

// preflight finds, in one pass over the archive and before anything is
// written, space keys the destination already uses (compared
// case-insensitively) and the users it has no account for.
func (ci *cloudImport) preflight() error {
	bill := &billReview{ci: ci}
	var apps []*model.App
	it := ci.f.Events()
	defer it.Close()
	for it.Next() {
		ev := it.Event()
		if ev.Type == string(model.AppInstalled) {
			var a model.App
			if err := json.Unmarshal(ev.Payload, &a); err != nil {
				return err
			}
			apps = append(apps, &a)
			continue
		}
		if ev.Type == string(model.UserCreated) {
			if err := bill.add(ev.ID); err != nil {
				return err
			}
			continue
		}
		if ev.Type == string(model.GroupCreated) {
			var g model.Group
			if err := json.Unmarshal(ev.Payload, &g); err != nil {
				return err
			}
			ci.groups = append(ci.groups, g)
			continue
		}
		if ev.Type != string(model.SpaceCreated) {
			continue
		}
		var sp model.Space
		if err := json.Unmarshal(ev.Payload, &sp); err != nil {
			return err
		}
		if ci.anchor == nil {
			// Set now, cleared below if its key is in use: the first
			// space this import owns.
			ci.anchor = &sp
		}
		if _, ok := ci.j.lookup(ci.site, "space", ev.ID); ok {
			continue
		}
		var found struct {
			Results []struct{ ID, Key string }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces", url.Values{"keys": {strings.Join(slices.Compact([]string{sp.Key, strings.ToUpper(sp.Key), strings.ToLower(sp.Key)}), ",")}}, &found); err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		if len(found.Results) > 0 {
			// One this source's earlier import created (its journal lost)?
			var prop struct{ Value Provenance }
			_, err := ci.spaceProperty(found.Results[0].ID, ProvenanceKey, &prop.Value)
			if err == nil && prop.Value.SourceSite == ci.site && prop.Value.SourceID == sp.ID {
				if err := ci.j.record(ci.site, "space", sp.ID, found.Results[0].ID); err != nil {
					return err
				}
				if err := ci.j.record(ci.site, "space-key", sp.ID, found.Results[0].Key); err != nil {
					return err
				}
				for source, dest := range prop.Value.Groups {
					if _, known := ci.j.lookup(ci.site, "group", source); !known {
						if err := ci.j.record(ci.site, "group", source, dest); err != nil {
							return err
						}
						if slices.Contains(prop.Value.CreatedGroups, source) {
							if err := ci.j.record(ci.site, "group-owned", source, dest); err != nil {
								return err
							}
						}
					}
				}
				continue
			}
			if adopted, err := ci.adoptSpace(&sp, found.Results[0].ID, found.Results[0].Key, err); err != nil || adopted {
				if err != nil {
					return err
				}
				continue
			}
			msg := fmt.Sprintf("space %s: the destination has a space with key %s", sp.Key, found.Results[0].Key)
			ci.report.Conflicts = append(ci.report.Conflicts, msg)
			ci.skipKeys[strings.ToUpper(sp.Key)] = true
			if ci.anchor != nil && ci.anchor.ID == sp.ID {
				ci.anchor = nil
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if ci.anchor == nil { // an increment: a space an earlier run created
		keys := ci.j.all(ci.site, "space-key")
		if ids := slices.Sorted(maps.Keys(keys)); len(ids) > 0 {
			ci.anchor = &model.Space{ID: ids[0], Key: keys[ids[0]]}
		}
	}
	if err := bill.flush(); err != nil {
		return err
	}
	if len(apps) > 0 {
		installed, err := ci.c.Apps(ci.ctx)
		if err != nil {
			return fmt.Errorf("preflight: listing the destination's apps, to find those the source has and it lacks: %w; nothing was imported", err)
		}
		have := map[string]bool{}
		for _, a := range installed {
			have[a.Key] = true
		}
		for _, a := range apps {
			if !have[a.Key] {
				ci.report.MissingApps = append(ci.report.MissingApps, appName(a))
			}
		}
	}
	var stops []error
	if err := checkApps(ci.report, ci.o); err != nil {
		stops = append(stops, err)
	}
	if len(ci.report.Conflicts) > 0 && ci.o.OnConflict == Fail {
		stops = append(stops, stopError{fmt.Errorf("%d conflict(s), nothing was imported (choose --on-conflict skip):\n  %s", len(ci.report.Conflicts), strings.Join(ci.report.Conflicts, "\n  "))})
	}
	return errors.Join(stops...)
}

func (ci *cloudImport) apply(from int64) error {
	it := ci.f.Events()
	defer it.Close()
	for it.Next() {
		ev := it.Event()
		if ev.Seq <= from {
			continue
		}
		if ci.o.BeforeEvent != nil {
			if err := ci.o.BeforeEvent(ev.Seq); err != nil {
				return err
			}
		}
		t := model.EventType(ev.Type)
		counts := ci.report.kind(t.Kind())
		switch {
		case model.RuleFor(t).Copy == model.NotCopied:
			counts.NotCopied++
			ci.report.NotCopied[model.RuleFor(t).Reason]++
		case ev.Space != "" && ci.skipKeys[strings.ToUpper(ev.Space)]:
			counts.Skipped++
			ci.report.Skipped["space key in use at the destination (--on-conflict skip)"]++
		case ci.inSkipped(t, ev):
			if ci.skipErr != nil {
				return ci.skipErr
			}
			counts.Skipped++
			ci.report.Skipped[titleSkipReason]++
		default:
			payload, err := model.Decode(t, ev.Payload)
			if err != nil {
				return fmt.Errorf("archive %s seq %d: %w", ci.archiveID, ev.Seq, err)
			}
			if ev.Space != "" && !spaceLevel(t) {
				if err := ci.checkSpace(ev.Space); err != nil {
					return err
				}
			}
			if err := ci.event(t, ev, payload, counts); err != nil {
				return fmt.Errorf("seq %d (%s %s): %w", ev.Seq, ev.Type, ev.ID, err)
			}
		}
		ci.last = ev.Seq
		if err := ci.j.checkpoint(ci.archiveID, ev.Seq, false); err != nil {
			return err
		}
		if ci.o.Progress != nil && ev.Seq%200 == 0 {
			ci.o.Progress(ci.report)
		}
	}
	return it.Err()
}

// createSpace creates a space and labels it with its provenance.
func (ci *cloudImport) createSpace(p *model.Space) error {
	// With permissions given, Cloud applies exactly those: not the
	// destination's defaults (see checkSpace).
	perms, err := ci.spacePermissions()
	if err != nil {
		return err
	}
	body := map[string]any{"key": p.Key, "name": p.Name, "description": map[string]any{"plain": map[string]any{"value": p.Description, "representation": "plain"}},
		"permissions": perms}
	// Noted before the write: a run killed between creating the space
	// and labelling it leaves a space the next run must recognise.
	if err := ci.j.record(ci.site, "space-intent", p.ID, p.Key); err != nil {
		return err
	}
	var created struct{ ID json.Number }
	err = writeChecked(func() error { return ci.c.Post(ci.ctx, "/wiki/rest/api/space", body, &created) }, func() (bool, error) {
		var found struct{ Results []struct{ ID string } }
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces", url.Values{"keys": {p.Key}}, &found)
		if len(found.Results) > 0 {
			created.ID = json.Number(found.Results[0].ID)
		}
		return len(found.Results) > 0, err
	})
	if err != nil {
		return err
	}
	prov := Provenance{SourceSite: ci.site, SourceID: p.ID, ArchiveID: ci.archiveID, Author: p.Author, CreatedAt: p.CreatedAt, Groups: ci.j.all(ci.site, "group"), CreatedGroups: slices.Sorted(maps.Keys(ci.j.all(ci.site, "group-owned")))}
	err = writeChecked(func() error {
		return ci.addSpaceProperty(created.ID.String(), ProvenanceKey, prov)
	}, func() (bool, error) {
		return ci.spaceProperty(created.ID.String(), ProvenanceKey, nil)
	})
	if err != nil {
		return err
	}
	if err := ci.j.record(ci.site, "space-key", p.ID, p.Key); err != nil {
		return err
	}
	if p.Homepage != "" {
		if err := ci.j.record(ci.site, "space-homepage", p.ID, p.Homepage); err != nil {
			return err
		}
	} else {
		ci.report.Notes = append(ci.report.Notes, fmt.Sprintf("space %s: the source's space has no homepage; the one Cloud made with the space stays", p.Key))
	}
	return ci.j.record(ci.site, "space", p.ID, created.ID.String())
}

func (ci *cloudImport) event(t model.EventType, ev *archive.Event, payload any, counts *Counts) error {
	switch p := payload.(type) {
	case *model.Space:
		if t == model.SpaceUpdated {
			return ci.updateSpace(p, counts)
		}
		if t != model.SpaceCreated {
			break
		}
		ci.spaceIDs[strings.ToUpper(p.Key)] = p.ID
		if _, ok := ci.j.lookup(ci.site, "space", p.ID); ok {
			if !ci.anchorEarly || ci.anchor.ID != p.ID {
				counts.Unchanged++ // (the anchor, created early, was counted then)
			}
			return nil
		}
		if err := ci.createSpace(p); err != nil {
			return err
		}
		counts.Created++
		return nil
	case *model.User:
		return ci.user(p, counts)
	case *model.Group:
		if t == model.GroupCreated {
			return ci.group(p, counts)
		}
		if t == model.GroupRenamed {
			counts.Skipped++
			ci.report.Skipped[fmt.Sprintf("group renamed at the source from %q to %q: Confluence Cloud's API cannot rename groups; rename it by hand", p.OldName, p.Name)]++
			return nil
		}
	case *model.Membership:
		if t == model.MembershipAdded {
			return ci.membership(p, counts)
		}
	case *model.SpacePermission:
		if t == model.SpacePermissionGranted {
			return ci.permission(ev.Space, p, counts)
		}
	case *model.Restriction:
		if t == model.RestrictionAdded {
			return ci.restriction(p, counts)
		}
	case *model.Property:
		if t == model.PropertySet {
			return ci.property(p, counts)
		}
	case *model.Content:
		if t == model.PageCreated || t == model.BlogpostCreated || t == model.FolderCreated {
			ci.pending[p.ID] = p
			// Kept until its first version creates it, across a crash.
			if err := ci.j.record(ci.site, "content-meta", p.ID, string(ev.Payload)); err != nil {
				return err
			}
			if p.Status == "trashed" || p.Status == "archived" {
				return ci.j.record(ci.site, "status", p.ID, p.Status)
			}
			return nil
		}
	case *model.StatusChange:
		// Applied at the end, once every version is written: Cloud does
		// not update trashed content.
		counts.Updated++
		return ci.j.record(ci.site, "status", p.ID, p.Status)
	case *model.Version:
		switch t {
		case model.PageVersion, model.BlogpostVersion:
			return ci.version(t, ev, p, counts)
		case model.FolderVersion:
			return ci.folderVersion(p, counts)
		case model.CommentVersion:
			return ci.commentVersion(p, counts)
		}
	case *model.Comment:
		if t == model.CommentCreated {
			ci.comments[p.ID] = p
			return ci.j.record(ci.site, "comment-meta", p.ID, string(ev.Payload))
		}
	case *model.Attachment:
		if t == model.AttachmentCreated {
			ci.attachments[p.ID] = p
			// Later archives add versions to it, and may delete it.
			meta, _ := json.Marshal(p)
			return ci.j.record(ci.site, "attachment", p.ID, string(meta))
		}
	case *model.Move:
		return ci.move(p, counts)
	case *model.Deleted:
		return ci.remove(t, p.ID, counts)
	case *model.AttachmentVersion:
		return ci.attachmentVersion(p, counts)
	case *model.Like:
		counts.NotCopied++
		ci.report.NotCopied["like: "+model.RuleFor(t).Reason]++
		return nil
	case *model.Label:
		if t != model.LabelAdded {
			break
		}
		id, ok := ci.j.lookup(ci.site, "content", p.ContainerID)
		if !ok {
			counts.Skipped++
			ci.report.Skipped["on content that was not written"]++
			return nil
		}
		if has, err := ci.hasLabel(p.ContainerID, id, p.Name); err != nil || has {
			if has {
				counts.Unchanged++
			}
			return err
		}
		// Adding a label that is there changes nothing: safe to repeat.
		if err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/content/"+id+"/label", []map[string]string{{"prefix": p.Prefix, "name": p.Name}}, nil); err != nil {
			return err
		}
		counts.Created++
		return nil
	}
	counts.NotCopied++
	ci.report.NotCopied[notWrittenToCloud]++
	return nil
}

// hasLabel reports whether content at the destination has a label. An
// archive's labels on one page come together, so the page's labels are
// read once for all of them.
func (ci *cloudImport) hasLabel(source, dest, name string) (bool, error) {
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
			home, err := ci.homepage(c, space, v)
			if err != nil {
				return err
			}
			if home != "" {
				delete(ci.pending, v.ContentID)
				counts.Created++
				return nil
			}
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
			prov := Provenance{SourceSite: ci.site, SourceID: v.ContentID, ArchiveID: ci.archiveID, Author: c.Author, CreatedAt: c.CreatedAt}
			if err := ci.setProvenance(kind, id, prov); err != nil {
				return err
			}
			counts.Created++
		}
		delete(ci.pending, v.ContentID)
		if err := ci.j.record(ci.site, "content", v.ContentID, id); err != nil {
			return err
		}
		if err := ci.j.record(ci.site, "content-kind", v.ContentID, kind); err != nil {
			return err
		}
		if found == "" {
			return nil // version 1 was written with the page
		}
	}
	n := v.Number + ci.versionOffset(v.ContentID)
	body := map[string]any{"id": id, "status": "current", "body": map[string]any{"representation": representation(v), "value": v.Body},
		"version": map[string]any{"number": n, "message": message}}
	return ci.withTitle(kind, v.ContentID, v.Title, false, func(title string) error {
		body["title"] = title
		return ci.nextVersion("/wiki/api/v2/"+kind+"/"+id, "content "+v.ContentID, n, body, counts)
	}, func(title string) (bool, error) { return ci.titleInUse(kind, id, title) })
}

// nextVersion writes version n of the page, blog post or comment at path
// when the destination has version n-1; it counts a version already there
// as unchanged, a retried update included (Confluence answers it 409).
func (ci *cloudImport) nextVersion(path, what string, n int, body map[string]any, counts *Counts) error {
	var current struct {
		Version struct{ Number int }
	}
	if err := ci.c.Get(ci.ctx, path, nil, &current); err != nil {
		return err
	}
	switch {
	case current.Version.Number >= n:
		counts.Unchanged++
		return nil
	case current.Version.Number != n-1:
		return fmt.Errorf("%s is at version %d at the destination, so version %d cannot follow", what, current.Version.Number, n)
	}
	if err := ci.c.Put(ci.ctx, path, body, nil); err != nil {
		var ae *cloud.APIError
		if errors.As(err, &ae) && ae.Status == 409 {
			if gerr := ci.c.Get(ci.ctx, path, nil, &current); gerr == nil && current.Version.Number >= n {
				counts.Unchanged++
				return nil
			}
		}
		return err
	}
	counts.Updated++
	return nil
}

// user links an account: Atlassian accounts are the same on every site,
// but Confluence Cloud cannot create one through the API, so an account
// the destination does not know is reported (inviting it adds to the bill).
func (ci *cloudImport) user(u *model.User, counts *Counts) error {
	if _, ok := ci.j.lookup(ci.site, "user", u.AccountID); ok {
		counts.Unchanged++
		return nil
	}
	var found struct {
		Results []struct{ AccountID string }
	}
	if err := ci.c.PostRepeatable(ci.ctx, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": []string{u.AccountID}}, &found); err != nil {
		return err
	}
	if len(found.Results) == 0 {
		counts.NotCopied++
		ci.report.NotCopied["no account at the destination: Confluence Cloud cannot create accounts through its API; invite these users (each adds to the bill)"]++
		return nil
	}
	counts.Merged++
	return ci.j.record(ci.site, "user", u.AccountID, u.AccountID)
}

// group finds or creates a group: a destination group of the same name is
// merged with --merge-groups; otherwise the copy is "NAME (copied)".
func (ci *cloudImport) group(g *model.Group, counts *Counts) error {
	if _, ok := ci.j.lookup(ci.site, "group", g.ID); ok {
		counts.Unchanged++
		return nil
	}
	name := g.Name
	existing, err := ci.groupByName(name)
	if err != nil {
		return err
	}
	if existing != "" && ci.o.MergeGroups {
		ci.report.Merges = append(ci.report.Merges, GroupMerge{Group: g.Name})
		counts.Merged++
		return ci.j.record(ci.site, "group", g.ID, existing)
	}
	if existing != "" {
		if owned, err := ci.intended(g); err != nil || owned {
			if err != nil {
				return err
			}
			counts.Unchanged++ // a killed run created it (its journal lost)
			if err := ci.j.record(ci.site, "group-owned", g.ID, existing); err != nil {
				return err
			}
			return ci.j.record(ci.site, "group", g.ID, existing)
		}
		name = g.Name + " (copied)"
		if existing, err = ci.groupByName(name); err != nil {
			return err
		}
		if existing != "" { // an earlier run's copy
			counts.Unchanged++
			if err := ci.j.record(ci.site, "group-owned", g.ID, existing); err != nil {
				return err
			}
			return ci.j.record(ci.site, "group", g.ID, existing)
		}
	}
	if name == g.Name {
		if err := ci.intendGroups(); err != nil {
			return err
		}
	}
	var created struct{ ID string }
	err = writeChecked(func() error {
		return ci.c.Post(ci.ctx, "/wiki/rest/api/group", map[string]string{"name": name}, &created)
	}, func() (bool, error) {
		id, err := ci.groupByName(name)
		created.ID = id
		return id != "", err
	})
	if err != nil {
		return err
	}
	counts.Created++
	if err := ci.j.record(ci.site, "group-owned", g.ID, created.ID); err != nil {
		return err
	}
	return ci.j.record(ci.site, "group", g.ID, created.ID)
}

// Cloud groups carry no properties, so nothing on a group says ferry
// created it: a re-run that lost its journal would take a group a killed
// run created for one the destination had, and copy it again as
// "NAME (copied)". So before creating the first group under its own name,
// an import writes which of the archive's groups it will create so (those
// the destination lacks then) to a property of its anchor, the first space
// it owns, creating that space ahead of its event if need be. An archive
// that creates no space (an increment) uses a space its journal says an
// earlier run created; without the journal, it has no anchor.
func groupIntentKey(archiveID string) string { return "ferry.groups." + archiveID }

type groupIntent struct {
	SourceSite string            `json:"source_site"`
	Groups     map[string]string `json:"groups"` // source group id → name
}

func (ci *cloudImport) intendGroups() error {
	if ci.intent != nil || ci.anchor == nil {
		return nil
	}
	if _, ok := ci.j.lookup(ci.site, "space-key", ci.anchor.ID); !ok {
		if err := ci.createSpace(ci.anchor); err != nil {
			return fmt.Errorf("creating space %s ahead of its event, to note the groups this import creates: %w", ci.anchor.Key, err)
		}
		ci.report.kind(model.SpaceCreated.Kind()).Created++
		ci.anchorEarly = true
	}
	space, ok := ci.j.lookup(ci.site, "space", ci.anchor.ID)
	if !ok {
		return fmt.Errorf("space %s: created, but its id is not in the journal", ci.anchor.Key)
	}
	intent, err := ci.readIntent(space)
	if err != nil || intent != nil { // a killed run wrote it already
		ci.intent = intent
		return err
	}
	intent = map[string]string{}
	for _, g := range ci.groups {
		if _, known := ci.j.lookup(ci.site, "group", g.ID); known {
			continue
		}
		if existing, err := ci.groupByName(g.Name); err != nil {
			return err
		} else if existing == "" {
			intent[g.ID] = g.Name
		}
	}
	err = writeChecked(func() error {
		return ci.addSpaceProperty(space, groupIntentKey(ci.archiveID), groupIntent{SourceSite: ci.site, Groups: intent})
	}, func() (bool, error) {
		found, err := ci.readIntent(space)
		return found != nil, err
	})
	if err != nil {
		return err
	}
	ci.intent = intent
	return nil
}

// intended says whether a run of this import created g under its own name.
func (ci *cloudImport) intended(g *model.Group) (bool, error) {
	if ci.intent == nil {
		if !ci.rerun || ci.anchor == nil {
			return false, nil
		}
		space, ok := ci.j.lookup(ci.site, "space", ci.anchor.ID)
		if !ok {
			return false, nil
		}
		intent, err := ci.readIntent(space)
		if err != nil || intent == nil {
			return false, err
		}
		ci.intent = intent
	}
	return ci.intent[g.ID] == g.Name, nil
}

// readIntent reads the group intent from the anchor space: nil when absent.
func (ci *cloudImport) readIntent(space string) (map[string]string, error) {
	var prop struct{ Value groupIntent }
	found, err := ci.spaceProperty(space, groupIntentKey(ci.archiveID), &prop.Value)
	if notFound(err) || err == nil && (!found || prop.Value.SourceSite != ci.site) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if prop.Value.Groups == nil {
		prop.Value.Groups = map[string]string{}
	}
	return prop.Value.Groups, nil
}

func (ci *cloudImport) groupByName(name string) (string, error) {
	var found struct{ ID string }
	err := ci.c.Get(ci.ctx, "/wiki/rest/api/group/by-name", url.Values{"name": {name}}, &found)
	if notFound(err) {
		return "", nil
	}
	return found.ID, err
}

func (ci *cloudImport) membership(m *model.Membership, counts *Counts) error {
	group, gok := ci.j.lookup(ci.site, "group", m.GroupID)
	_, uok := ci.j.lookup(ci.site, "user", m.AccountID)
	if !gok || !uok {
		counts.Skipped++
		ci.report.Skipped["membership of a group or user not at the destination"]++
		return nil
	}
	// Adding a member again changes nothing, but a re-run should not write
	// at all: the journal knows, or the group's members (read once).
	key := m.GroupID + ":" + m.AccountID
	if _, done := ci.j.lookup(ci.site, "membership", key); done {
		counts.Unchanged++
		return nil
	}
	members, err := ci.groupMembers(group)
	if err != nil {
		return err
	}
	if members[m.AccountID] {
		counts.Unchanged++
	} else {
		if err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/group/userByGroupId?groupId="+url.QueryEscape(group), map[string]string{"accountId": m.AccountID}, nil); err != nil {
			return err
		}
		members[m.AccountID] = true
		counts.Created++
	}
	return ci.j.record(ci.site, "membership", key, "1")
}

// groupMembers reads a destination group's members once per run: a
// group's memberships come together, so one group is kept at a time.
func (ci *cloudImport) groupMembers(group string) (map[string]bool, error) {
	if ci.membersOf == group {
		return ci.members, nil
	}
	members := map[string]bool{}
	err := ci.c.List(ci.ctx, "/wiki/rest/api/group/"+url.PathEscape(group)+"/membersByGroupId", url.Values{"limit": {"200"}}, func(r json.RawMessage) error {
		var m struct{ AccountID string }
		if err := json.Unmarshal(r, &m); err != nil {
			return err
		}
		members[m.AccountID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	ci.membersOf, ci.members = group, members
	return members, nil
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
	value, found, err := existing()
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
			return err
		}
		counts.Created++
	default:
		return err
	}
	return ci.j.record(ci.site, "restriction", key, "1")
}

// commentVersion writes one version of a footer or inline comment: the
// first creates it (unless a ferry.source property shows an earlier run
// did), later ones update it.
func (ci *cloudImport) commentVersion(v *model.Version, counts *Counts) error {
	cm := ci.comments[v.ContentID]
	if meta, ok := ci.j.lookup(ci.site, "comment-meta", v.ContentID); cm == nil && ok {
		cm = &model.Comment{}
		json.Unmarshal([]byte(meta), cm)
	}
	id, ok := ci.j.lookup(ci.site, "comment", v.ContentID)
	if !ok {
		if cm == nil {
			counts.Skipped++
			ci.report.Skipped["comment version whose comment was not seen in this archive"]++
			return nil
		}
		container, ok := ci.j.lookup(ci.site, "content", cm.ContainerID)
		kind, known := ci.j.lookup(ci.site, "content-kind", cm.ContainerID)
		if !ok || !known {
			counts.Skipped++
			ci.report.Skipped["on content that was not written"]++
			return nil
		}
		if err := ci.recoverComments(kind, container); err != nil {
			return err
		}
		if _, known := ci.j.lookup(ci.site, "comment", v.ContentID); !known && ci.rerun {
			if err := ci.adoptComment(kind, container, cm, v.ContentID); err != nil {
				return err
			}
		}
		if id, ok = ci.j.lookup(ci.site, "comment", v.ContentID); !ok {
			body := map[string]any{"body": map[string]any{"representation": representation(v), "value": v.Body}}
			switch {
			case cm.ParentID != "":
				parent, ok := ci.j.lookup(ci.site, "comment", cm.ParentID)
				if !ok {
					counts.Skipped++
					ci.report.Skipped["a reply to a comment that was not written"]++
					return nil
				}
				body["parentCommentId"] = parent
			case kind == "blogposts":
				body["blogPostId"] = container
			default:
				body["pageId"] = container
			}
			var why string // the comment is inline, but its text cannot be placed
			if cm.Location == "inline" && cm.ParentID == "" {
				props, reason, err := ci.placeInline(kind, container, cm.Anchor)
				if err != nil {
					return err
				}
				body["inlineCommentProperties"], why = props, reason
			}
			var created struct{ ID string }
			post := func(path string) error {
				return writeChecked(func() error { return ci.c.Post(ci.ctx, "/wiki/api/v2/"+path, body, &created) }, func() (bool, error) {
					// Lost answer? A comment without a ferry.source property,
					// written since the scan, is this one.
					orphan, err := ci.orphanComment(kind, container)
					created.ID = orphan
					return orphan != "", err
				})
			}
			err := errInlineRefused
			if why == "" {
				err = post(commentPath(cm))
			}
			var ae *cloud.APIError
			if cm.Location == "inline" && cm.ParentID == "" && (errors.Is(err, errInlineRefused) || errors.As(err, &ae) && ae.Status == http.StatusBadRequest) {
				// One comment never stops an import: it becomes a footer
				// comment quoting its selection, reported and marked.
				if why == "" {
					why = "Cloud refused its selected text"
				}
				if err = ci.inlineFallback(v.ContentID, cm, body, why); err == nil {
					err = post("footer-comments")
				}
			}
			if err != nil {
				return err
			}
			id = created.ID
			if err := ci.labelComment(id, cm, v.ContentID); err != nil {
				return err
			}
			counts.Created++
			return nil
		}
	}
	message := fmt.Sprintf("ferry: version %d by %s at %s", v.Number, v.Author, v.At.UTC().Format(time.RFC3339))
	body := map[string]any{"body": map[string]any{"representation": representation(v), "value": v.Body}, "version": map[string]any{"number": v.Number, "message": message}}
	path := "/wiki/api/v2/footer-comments/" + id
	if loc, ok := ci.j.lookup(ci.site, "comment-location", v.ContentID); ok {
		path = "/wiki/api/v2/" + loc + "-comments/" + id
	} else if cm != nil {
		path = "/wiki/api/v2/" + commentPath(cm) + "/" + id
	}
	if quote, ok := ci.j.lookup(ci.site, "comment-quote", v.ContentID); ok {
		body["body"] = map[string]any{"representation": representation(v), "value": quote + v.Body}
	}
	return ci.nextVersion(path, "comment "+v.ContentID, v.Number, body, counts)
}

// commentPath is the v2 collection of a comment: footer-comments or
// inline-comments.
func commentPath(cm *model.Comment) string {
	if cm.Location == "inline" {
		return "inline-comments"
	}
	return "footer-comments"
}

// walkComments lists every footer and inline comment of a page or blog
// post, replies included, with its ferry.source property if it has one.
func (ci *cloudImport) walkComments(kind, container string, each func(id, loc string, prov *Provenance) error) error {
	type item struct{ id, loc string }
	var queue []item
	collect := func(loc string) func(json.RawMessage) error {
		return func(r json.RawMessage) error {
			var c struct{ ID string }
			json.Unmarshal(r, &c)
			queue = append(queue, item{c.ID, loc})
			return nil
		}
	}
	for _, loc := range []string{"footer", "inline"} {
		if err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind+"/"+container+"/"+loc+"-comments", url.Values{"limit": {"250"}}, collect(loc)); err != nil {
			return err
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		id := it.id
		var props struct {
			Results []struct{ Value Provenance }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return err
		}
		var prov *Provenance
		if len(props.Results) > 0 {
			prov = &props.Results[0].Value
		}
		if err := each(id, it.loc, prov); err != nil {
			return err
		}
		if err := ci.c.List(ci.ctx, "/wiki/api/v2/"+it.loc+"-comments/"+id+"/children", url.Values{"limit": {"250"}}, collect(it.loc)); err != nil {
			return err
		}
	}
	return nil
}

// recoverComments scans a page's comments once for ferry.source
// properties, recording them in the journal.
func (ci *cloudImport) recoverComments(kind, container string) error {
	if ci.recovered["comments/"+container] {
		return nil
	}
	ci.recovered["comments/"+container] = true
	return ci.walkComments(kind, container, func(id, loc string, prov *Provenance) error {
		if prov != nil && prov.SourceSite == ci.site && prov.SourceID != "" {
			if _, known := ci.j.lookup(ci.site, "comment", prov.SourceID); !known {
				// Where it is, and, for an inline comment written as a
				// footer comment, the quote its later versions keep.
				if err := ci.j.record(ci.site, "comment-location", prov.SourceID, loc); err != nil {
					return err
				}
				if cm := ci.comments[prov.SourceID]; prov.InlineFallback != "" && cm != nil {
					quote := quoteOf(cm)
					if err := errors.Join(ci.j.record(ci.site, "comment-quote", prov.SourceID, quote),
						ci.j.record(ci.site, "comment-fallback", prov.SourceID, prov.InlineFallback)); err != nil {
						return err
					}
				}
				return ci.j.record(ci.site, "comment", prov.SourceID, id)
			}
		}
		return nil
	})
}

// adoptComment takes a comment that a run killed between writing it and
// labelling it left without a ferry.source property, and labels it.
func (ci *cloudImport) adoptComment(kind, container string, cm *model.Comment, sourceID string) error {
	orphan, err := ci.orphanComment(kind, container)
	if err != nil || orphan == "" {
		return err
	}
	return ci.labelComment(orphan, cm, sourceID)
}

// labelComment gives a comment at the destination its ferry.source
// property and records it in the journal.
func (ci *cloudImport) labelComment(id string, cm *model.Comment, sourceID string) error {
	prov := Provenance{SourceSite: ci.site, SourceID: sourceID, ArchiveID: ci.archiveID, Author: cm.Author, CreatedAt: cm.CreatedAt}
	prov.InlineFallback, _ = ci.j.lookup(ci.site, "comment-fallback", sourceID)
	err := writeChecked(func() error {
		return ci.c.Post(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", map[string]any{"key": ProvenanceKey, "value": prov}, nil)
	}, func() (bool, error) {
		var props struct{ Results []json.RawMessage }
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props)
		return len(props.Results) > 0, err
	})
	if err != nil {
		return err
	}
	if err := ci.j.record(ci.site, "comment", sourceID, id); err != nil {
		return err
	}
	return ci.j.record(ci.site, "comment-location", sourceID, cm.Location)
}

// orphanComment finds a comment of the page without a ferry.source
// property: one whose creation answer was lost.
func (ci *cloudImport) orphanComment(kind, container string) (string, error) {
	found := ""
	err := ci.walkComments(kind, container, func(id, _ string, prov *Provenance) error {
		if prov == nil && found == "" {
			found = id
		}
		return nil
	})
	return found, err
}

// cloudUploadLimit is the largest request body Confluence Cloud takes.
const cloudUploadLimit = 2 << 30

// attachmentVersion uploads one version of an attachment, from its blob,
// when the destination has the one before it and not this one.
func (ci *cloudImport) attachmentVersion(v *model.AttachmentVersion, counts *Counts) error {
	a := ci.attachments[v.AttachmentID]
	if meta, ok := ci.j.lookup(ci.site, "attachment", v.AttachmentID); a == nil && ok {
		a = &model.Attachment{}
		json.Unmarshal([]byte(meta), a)
	}
	if a == nil {
		counts.Skipped++
		ci.report.Skipped["attachment version whose attachment was not seen in this archive"]++
		return nil
	}
	container, ok := ci.j.lookup(ci.site, "content", a.ContainerID)
	kind, _ := ci.j.lookup(ci.site, "content-kind", a.ContainerID)
	if !ok || kind == "" {
		counts.Skipped++
		ci.report.Skipped["on content that was not written"]++
		return nil
	}
	if v.Size > cloudUploadLimit {
		counts.NotCopied++
		ci.report.NotCopied[fmt.Sprintf("attachment version over Confluence Cloud's 2 GB upload limit (%s version %d, %d bytes)", a.Filename, v.Number, v.Size)]++
		return nil
	}
	have := func() (int, error) {
		var list struct {
			Results []struct{ Version struct{ Number int } }
		}
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+container+"/attachments", url.Values{"filename": {a.Filename}}, &list)
		if err != nil || len(list.Results) == 0 {
			return 0, err
		}
		return list.Results[0].Version.Number, nil
	}
	n, err := have()
	switch {
	case err != nil:
		return err
	case n >= v.Number:
		counts.Unchanged++
		return nil
	case n != v.Number-1:
		return fmt.Errorf("attachment %s is at version %d at the destination, so version %d cannot follow", a.Filename, n, v.Number)
	}
	comment := fmt.Sprintf("ferry: version %d by %s at %s", v.Number, v.Author, v.At.UTC().Format(time.RFC3339))
	if v.Comment != "" {
		comment += ": " + v.Comment
	}
	open := func() (io.ReadCloser, error) { return ci.f.OpenBlob(v.Blob) }
	err = writeChecked(func() error {
		return ci.c.Upload(ci.ctx, "PUT", "/wiki/rest/api/content/"+container+"/child/attachment", a.Filename, mediaTypeOf(a, v), comment, open, nil)
	}, func() (bool, error) {
		n, err := have()
		return n >= v.Number, err
	})
	if err != nil {
		return err
	}
	counts.Created++
	return nil
}

// representation names a version's body format for the API: Cloud takes
// old wiki markup (from XML exports) and converts it.
func representation(v *model.Version) string {
	if v.Format == "wiki" {
		return "wiki"
	}
	return "storage"
}

// writeChecked sends a write that must not be repeated blindly: after a
// failure it checks whether the write happened anyway (done), and only
// when it did not, tries again, a few times.
func writeChecked(write func() error, done func() (bool, error)) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = write(); err == nil {
			return nil
		}
		var ae *cloud.APIError
		if errors.As(err, &ae) && ae.Status < 500 && ae.Status != 429 {
			return err // refused: trying again will not help
		}
		ok, cerr := done()
		if cerr != nil {
			return errors.Join(err, cerr)
		}
		if ok {
			return nil
		}
	}
	return err
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
					if err := ci.j.record(ci.site, "content", p.Value.SourceID, id); err != nil {
						return err
					}
					if err := ci.j.record(ci.site, "content-kind", p.Value.SourceID, kind); err != nil {
						return err
					}
					if p.Value.VersionOffset > 0 {
						if err := ci.j.record(ci.site, "version-offset", p.Value.SourceID, strconv.Itoa(p.Value.VersionOffset)); err != nil {
							return err
						}
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

// journal is the local record of a Cloud import: source ids to Cloud ids,
// and how far each archive got.
type journal struct{ db *sql.DB }

// DefaultJournal is where imports into a site keep their journal.
func DefaultJournal(site string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	u, _ := url.Parse(site)
	host := "site"
	if u != nil && u.Host != "" {
		host = strings.NewReplacer(":", "_", "/", "_").Replace(u.Host)
	}
	return filepath.Join(dir, "ferry", "journal-"+host+".db")
}

func openJournal(path string, dry bool) (*journal, error) {
	if dry {
		return memoryJournal(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// Only its owner may read it, as archives: it maps the source's ids.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err = db.Exec(journalSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &journal{db: db}, nil
}

const journalSchema = `CREATE TABLE IF NOT EXISTS ids (source_site TEXT NOT NULL, kind TEXT NOT NULL, source_id TEXT NOT NULL, cloud_id TEXT NOT NULL,
		PRIMARY KEY (source_site, kind, source_id)) WITHOUT ROWID;
	CREATE TABLE IF NOT EXISTS progress (archive_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, done INTEGER NOT NULL) WITHOUT ROWID;`

// memoryJournal is a dry run's journal: a copy in memory of the one at
// path (if there is one, read only), so the rehearsal starts where a real
// run would, and writes no file.
func memoryJournal(path string) (*journal, error) {
	db, err := sql.Open("sqlite3", "file::memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if _, err := db.Exec(journalSchema); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
		_, err := db.Exec(`ATTACH DATABASE ? AS saved`, "file:"+escaped+"?mode=ro")
		if err == nil {
			_, err = db.Exec(`INSERT INTO ids SELECT * FROM saved.ids; INSERT INTO progress SELECT * FROM saved.progress; DETACH DATABASE saved`)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return &journal{db: db}, nil
}

func (j *journal) lookup(site, kind, id string) (string, bool) {
	var v string
	err := j.db.QueryRow(`SELECT cloud_id FROM ids WHERE source_site = ? AND kind = ? AND source_id = ?`, site, kind, id).Scan(&v)
	return v, err == nil
}

// all returns every mapping of a kind.
func (j *journal) all(site, kind string) map[string]string {
	out := map[string]string{}
	rows, err := j.db.Query(`SELECT source_id, cloud_id FROM ids WHERE source_site = ? AND kind = ?`, site, kind)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		rows.Scan(&a, &b)
		out[a] = b
	}
	return out
}

func (j *journal) record(site, kind, id, cloudID string) error {
	_, err := j.db.Exec(`INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?)`, site, kind, id, cloudID)
	return err
}

// forget removes a record: what it noted is gone from the destination.
func (j *journal) forget(site, kind, id string) error {
	_, err := j.db.Exec(`DELETE FROM ids WHERE source_site = ? AND kind = ? AND source_id = ?`, site, kind, id)
	return err
}

func (j *journal) progress(archiveID string) (int64, bool) {
	var seq int64
	var done bool
	if err := j.db.QueryRow(`SELECT seq, done FROM progress WHERE archive_id = ?`, archiveID).Scan(&seq, &done); errors.Is(err, sql.ErrNoRows) || err != nil {
		return 0, false
	}
	return seq, done
}

func (j *journal) checkpoint(archiveID string, seq int64, done bool) error {
	_, err := j.db.Exec(`INSERT INTO progress VALUES (?, ?, ?) ON CONFLICT(archive_id) DO UPDATE SET seq = max(seq, excluded.seq), done = excluded.done OR done`,
		archiveID, seq, done)
	return err
}

// mediaTypeOf is an attachment version's media type, else its attachment's.
func mediaTypeOf(a *model.Attachment, v *model.AttachmentVersion) string {
	if v.MediaType != "" {
		return v.MediaType
	}
	return a.MediaType
}
