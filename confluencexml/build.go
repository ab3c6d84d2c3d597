package confluencexml

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Report says what a conversion found and did.
type Report struct {
	Objects map[string]int64 `json:"objects_by_class"`
	Created map[string]int64 `json:"created_by_kind"`
	Skipped []model.Skipped  `json:"skipped"`
	Wiki    int64            `json:"wiki_markup_versions"`
	// Seconds is the time of each pass: "index" (parsing entities.xml
	// into the on-disk index) and "build" (the staging site from it).
	Seconds map[string]float64 `json:"seconds_per_pass"`
}

func (r *Report) skip(class, id, reason string, objects int64) {
	r.Skipped = append(r.Skipped, model.Skipped{Class: class, ID: id, Objects: objects, Reason: reason})
}

// skipObject reports one object: its class (or a part of it, such as
// "Attachment.version"), id and line, a reason every object skipped for
// it shares, and what about this one.
func (r *Report) skipObject(o *Object, class, reason, detail string) {
	r.Skipped = append(r.Skipped, model.Skipped{Class: class, ID: truncate(o.ID, 80), Objects: 1, Line: o.Line, Reason: reason, Detail: detail})
}

// The classes the build reads; every other class is reported as not copied.
var mapped = map[string]string{
	"ConfluenceUserImpl": "users", "InternalUser": "users (names, emails, status)", "InternalGroup": "groups",
	"InternalMembership": "memberships", "HibernateMembership": "memberships", "Space": "spaces", "SpaceDescription": "space descriptions",
	"SpacePermission": "space permissions", "Page": "pages", "BlogPost": "blog posts", "BodyContent": "bodies",
	"Comment": "comments", "Attachment": "attachments", "Label": "labels", "Labelling": "labels",
	"ContentPermissionSet": "restrictions", "ContentPermission": "restrictions", "ContentProperty": "content properties",
}

// builder turns the index into an embedded site. run is the one place
// that orders the steps; each kind is built in a file of its own:
// buildpeople.go, buildspaces.go, buildcontent.go, buildcomments.go,
// buildattachments.go and buildmeta.go (labels, restrictions, properties).
type builder struct {
	ctx      context.Context
	ix       *index
	site     *embedded.Site
	files    attachmentFiles
	rep      *Report
	users    map[string]string // user key and lower-cased user name → account id
	groups   map[string]string // lower-cased group name → group id
	spaces   map[string]string // space id → key
	content  map[string]string // current page and blog post id → space id
	comments map[string]bool
	undated  time.Time       // for objects without a date
	badDates map[string]bool // dates reported as unreadable, by object and property
	queued   []func(*embedded.Tx) error
	queuedN  int        // bytes of text the queued writes hold
	inFlight chan error // the batch being written, if one is
}

// queue adds a write to the next batch: many small transactions are what
// makes a conversion slow. Writes that read no site state are queued.
func (b *builder) queue(size int, fn func(*embedded.Tx) error) error {
	b.queued = append(b.queued, fn)
	if b.queuedN += size; len(b.queued) >= 500 || b.queuedN >= 16<<20 {
		return b.flush()
	}
	return nil
}

// flush writes the queued batch in one transaction, on the other core:
// while it is written, the next is read from the index. One batch at a
// time is in flight, and every other write waits for it (see update), so
// writes keep their order.
func (b *builder) flush() error {
	if err := b.settle(); err != nil {
		return err
	}
	if len(b.queued) == 0 {
		return nil
	}
	q := b.queued
	b.queued, b.queuedN = nil, 0
	done := make(chan error, 1)
	b.inFlight = done
	go func() {
		done <- b.write(b.undated, func(tx *embedded.Tx) error {
			for _, fn := range q {
				if err := fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	return nil
}

// settle waits for the batch in flight, and says how its write went.
func (b *builder) settle() error {
	if b.inFlight == nil {
		return nil
	}
	err := <-b.inFlight
	b.inFlight = nil
	return err
}

// attachmentFiles opens attachments/<container>/<attachment>/<version>.
type attachmentFiles interface {
	open(container, attachment, version string) (io.ReadCloser, error) // nil, nil when absent
}

var zeroTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// epoch finds the export's earliest date, the time given to what has none
// of its own (users, groups, memberships), so reports do not show 1970.
func (b *builder) epoch() error {
	var min sql.NullString
	if err := b.ix.db.QueryRowContext(b.ctx, `SELECT min(d) FROM (SELECT json_extract(data, '$.p.creationDate') AS d FROM objects) WHERE d > '1971'`).Scan(&min); err != nil {
		return err
	}
	if t := parseDate(min.String); !t.Equal(zeroTime) {
		b.undated = t
	}
	return nil
}

func parseDate(s string) time.Time {
	if s == "" {
		return zeroTime
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return zeroTime
}

// date parses an object's date, or gives the export's earliest when it
// has none.
func (b *builder) date(s string) time.Time {
	if t := parseDate(s); !t.Equal(zeroTime) {
		return t
	}
	return b.undated
}

// readErr remembers the error a reader gave, so that a failed write can
// tell a damaged source file from a failing site.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// dateOf is an object's date property; one ferry cannot read is
// reported, and the object dated as one without a date. (The build reads
// each object's dates once.)
func (b *builder) dateOf(o *Object, name string) time.Time {
	s := strings.TrimSpace(o.Props[name])
	t := parseDate(s)
	if s != "" && t.Equal(zeroTime) {
		b.rep.Skipped = append(b.rep.Skipped, model.Skipped{Class: o.Class, ID: truncate(o.ID, 80), Objects: 1, Line: o.Line,
			Detail: name + " " + strconv.Quote(truncate(s, 60)),
			Reason: "a date ferry cannot read: the object is copied, dated as the export's earliest"})
	}
	return b.date(s)
}

// update writes fn's changes in their own transaction, after the batch in
// flight.
func (b *builder) update(at time.Time, fn func(*embedded.Tx) error) error {
	if err := b.settle(); err != nil {
		return err
	}
	return b.write(at, fn)
}

func (b *builder) write(at time.Time, fn func(*embedded.Tx) error) error {
	if at.Equal(zeroTime) {
		at = b.undated
	}
	return b.site.Update(b.ctx, at, "", fn)
}

func (b *builder) created(kind string) { b.rep.Created[kind]++ }

// user resolves a user reference (a key) or a user name property.
func (b *builder) user(o *Object, ref, name string) string {
	if r, ok := o.Refs[ref]; ok && r.ID != "" {
		if id := b.users[r.ID]; id != "" {
			return id
		}
	}
	if n := strings.TrimSpace(o.Props[name]); n != "" {
		if id := b.users[n]; id != "" {
			return id
		}
		return b.users[strings.ToLower(n)]
	}
	return ""
}

// run builds the site in the order its rows refer to one another: people
// before the spaces and content that name them, content before its
// comments, attachments, labels, restrictions and properties.
func (b *builder) run() error {
	b.undated = zeroTime
	steps := []func() error{b.epoch, b.buildUsers, b.buildGroups, b.buildSpaces, b.buildPermissions, b.buildContent,
		b.buildComments, b.buildAttachments, b.buildLabels, b.buildRestrictions, b.buildProperties}
	for _, step := range steps {
		err := step()
		if err == nil {
			err = b.flush()
		}
		if err := errors.Join(err, b.settle()); err != nil {
			return err
		}
	}
	var unmapped []string
	for class := range b.rep.Objects {
		if mapped[class] == "" {
			unmapped = append(unmapped, class)
		}
	}
	sort.Strings(unmapped)
	for _, class := range unmapped {
		b.rep.skip(class, "", "ferry does not map this class of the XML export", b.rep.Objects[class])
	}
	return nil
}
