package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
		pending: map[string]*model.Content{}, spaceIDs: map[string]string{}, checked: map[string]bool{}, grants: map[string]map[string]bool{}, known: map[string]int{}, people: map[string]*Person{}, roleOf: map[string]map[string]string{}, recovered: map[string]bool{}, attachments: map[string]*model.Attachment{}, comments: map[string]*model.Comment{},
		report: &Report{Archive: path, ArchiveID: h.ArchiveID, DryRun: o.DryRun, Kinds: map[string]*Counts{}, NotCopied: map[string]int64{},
			Skipped: map[string]int64{}, Changed: map[string]int64{}, Conflicts: []string{}, Merges: []GroupMerge{}, Linked: []string{}, Duplicates: []string{}, MissingApps: []string{}, People: []*Person{}}}
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
	if o.OnReview != nil {
		o.OnReview(ci.report)
	}
	if o.Invite && !o.DryRun {
		if err := ci.invite(); err != nil {
			return ci.report, err
		}
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
	ci.reportRoles()
	ci.reportOwners()
	if err := ci.applyStatuses(); err != nil {
		return ci.report, err
	}
	ci.report.Seconds = time.Since(start).Seconds()
	if len(wouldStop) > 0 {
		return ci.report, wouldStopError(wouldStop)
	}
	return ci.report, j.checkpoint(h.ArchiveID, ci.last, true)
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
	known       map[string]int             // what this run wrote last: a page's, comment's or attachment's version
	people      map[string]*Person         // source account id → what the destination knows of them (cloudaccess.go)
	roleChecked bool                       // whether the destination's role mode was asked (cloudroles.go)
	roles       []spaceRole                // its space roles, on a role-based site; else nil
	roleOf      map[string]map[string]string
	labelBuf    labelBatch // labels waiting to be written together
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
		if t != model.LabelAdded {
			if err := ci.flushLabels(); err != nil {
				return err
			}
		}
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
		if len(ci.labelBuf.labels) > 0 {
			continue // checkpointed once they are written
		}
		if err := ci.j.checkpoint(ci.archiveID, ev.Seq, false); err != nil {
			return err
		}
		if ci.o.Progress != nil && ev.Seq%200 == 0 {
			ci.o.Progress(ci.report)
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if err := ci.flushLabels(); err != nil {
		return err
	}
	return ci.j.checkpoint(ci.archiveID, ci.last, false)
}

// labelBatch holds the labels an archive adds to one page or blog post,
// written in one request (v1 takes a list) before the next other event,
// at most maxLabelBatch at a time. The checkpoint waits for them.
type labelBatch struct {
	dest   string
	labels []map[string]string
	counts *Counts
}

const maxLabelBatch = 50

func (ci *cloudImport) bufferLabel(dest string, l *model.Label, counts *Counts) error {
	b := &ci.labelBuf
	if b.dest != dest {
		if err := ci.flushLabels(); err != nil {
			return err
		}
		b.dest = dest
	}
	for _, have := range b.labels {
		if have["name"] == l.Name {
			counts.Unchanged++
			return nil
		}
	}
	b.labels, b.counts = append(b.labels, map[string]string{"prefix": l.Prefix, "name": l.Name}), counts
	if len(b.labels) == maxLabelBatch {
		return ci.flushLabels()
	}
	return nil
}

// flushLabels writes the labels held; adding a label that is there
// changes nothing, so it is safe to repeat.
func (ci *cloudImport) flushLabels() error {
	b := &ci.labelBuf
	if len(b.labels) == 0 {
		return nil
	}
	if err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/content/"+b.dest+"/label", b.labels, nil); err != nil {
		return fmt.Errorf("labels of %s: %w", b.dest, err)
	}
	for _, l := range b.labels {
		if ci.labelsOf == b.dest {
			ci.labels[l["name"]] = true
		}
	}
	b.counts.Created += int64(len(b.labels))
	b.labels = b.labels[:0]
	return nil
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
		return ci.bufferLabel(id, p, counts)
	}
	counts.NotCopied++
	ci.report.NotCopied[notWrittenToCloud]++
	return nil
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
