package inspect

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"ferry/model"
)

// Summary is what a reviewer needs to decide whether an archive may be
// imported.
type Summary struct {
	ArchiveID string         `json:"archive_id"`
	ParentID  string         `json:"parent_id,omitempty"`
	Version   string         `json:"format_version"`
	Created   time.Time      `json:"created"`
	Source    map[string]any `json:"source"`
	// Limits, when set, is what the export could not see of the source
	// (the header's source.limits): the archive is not the whole site.
	Limits     string           `json:"limits,omitempty"`
	FirstEvent time.Time        `json:"first_event"`
	LastEvent  time.Time        `json:"last_event"`
	Events     int64            `json:"events"`
	ByKind     map[string]int64 `json:"events_by_kind"`
	Copied     int64            `json:"events_copied"`
	NotCopied  []ScopeLine      `json:"not_copied"`
	Held       []SourceLine     `json:"source_not_copied"` // what the source held that is not in the events at all
	Personal   PersonalData     `json:"personal_data"`
	Apps       []App            `json:"apps_not_copied"`
	Largest    []Attachment     `json:"largest_attachments"`
	OverLimit  []Attachment     `json:"attachments_over_2gb"`
	BlobBytes  int64            `json:"attachment_bytes"`
}

// ScopeLine counts events that are not (or not always) copied, and why.
type ScopeLine struct {
	Kind      string `json:"kind"`
	Copy      string `json:"copied"`
	Condition string `json:"condition,omitempty"`
	Reason    string `json:"reason"`
	Events    int64  `json:"events"`
}

// SourceLine counts what the source held and ferry does not copy (the
// source.skipped events), by class and reason.
type SourceLine struct {
	Class   string `json:"class"`
	Reason  string `json:"reason"`
	Objects int64  `json:"objects"`
}

// PersonalData says whose personal data the archive holds, and where.
type PersonalData struct {
	Users     int64 `json:"users"`
	WithEmail int64 `json:"users_with_email"`
	// EmailHidden counts users whose email the source hid (their profile
	// visibility): known by account id only, they are matched by it, and
	// cannot be invited or checked by email.
	EmailHidden int64    `json:"users_email_hidden"`
	Inactive    int64    `json:"inactive_or_deleted"`
	Fields      []string `json:"fields"`
	Mentioning  int64    `json:"versions_mentioning_users"` // page, blog post and comment versions
}

// App is an app whose data stays behind.
type App struct {
	Key, Name   string
	DataRecords int64 `json:"data_records"`
}

// Attachment is one attachment, by size.
type Attachment struct {
	ID, Filename, Space string
	Size                int64
}

// upload limit of Confluence Cloud.
const cloudUploadLimit = 2 << 30

// Summarize answers the reviewer's standing questions. Through the cache,
// the answer is computed once per archive (cache_summary.go).
func (in *Inspector) Summarize(ctx context.Context) (*Summary, error) {
	if s := in.cachedSummary(); s != nil {
		return s, nil
	}
	s, err := in.summarize(ctx)
	if err == nil {
		in.rememberSummary(s)
	}
	return s, err
}

func (in *Inspector) summarize(ctx context.Context) (*Summary, error) {
	h, m := in.Header, in.Manifest
	s := &Summary{ArchiveID: h.ArchiveID, ParentID: h.ParentID, Version: h.Version, Created: h.Created,
		Source: map[string]any{"kind": h.Source.Kind, "location": h.Source.Location, "site_id": h.Source.SiteID, "visibility": h.Source.Visibility},
		Events: m.Events.Count, ByKind: map[string]int64{}, BlobBytes: m.Blobs.ContentBytes,
		Limits:    h.Source.Limits,
		NotCopied: []ScopeLine{}, Held: []SourceLine{}, Apps: []App{}, Largest: []Attachment{}, OverLimit: []Attachment{}}
	for t, n := range m.Events.ByType {
		s.ByKind[model.EventType(t).Kind()] += n
	}
	db, err := in.database(ctx)
	if err != nil {
		return nil, err
	}
	one := func(q string, dest ...any) error { return db.QueryRowContext(ctx, q).Scan(dest...) }
	var first, last sql.NullTime
	if err := one(`SELECT min("at"), max("at") FROM events`, &first, &last); err != nil {
		return nil, err
	}
	s.FirstEvent, s.LastEvent = first.Time, last.Time
	// One pass over scope for both the copied count and what is not copied.
	err = in.rows(ctx, `SELECT entity, copied, coalesce(condition, ''), reason, count(*) FROM scope
		GROUP BY ALL ORDER BY 5 DESC, 1`, func(r *sql.Rows) error {
		var l ScopeLine
		if err := r.Scan(&l.Kind, &l.Copy, &l.Condition, &l.Reason, &l.Events); err != nil {
			return err
		}
		if l.Copy == "yes" {
			s.Copied += l.Events
		} else {
			s.NotCopied = append(s.NotCopied, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.ByKind["source"] > 0 { // only then: it reads payloads
		err = in.rows(ctx, `SELECT title, payload->>'reason', sum(CAST(payload->>'objects' AS BIGINT)) FROM events WHERE entity = 'source'
			GROUP BY ALL ORDER BY 3 DESC, 1, 2`, func(r *sql.Rows) error {
			var l SourceLine
			if err := r.Scan(&l.Class, &l.Reason, &l.Objects); err != nil {
				return err
			}
			s.Held = append(s.Held, l)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	p := &s.Personal
	if err := one(`SELECT count(*), count(email), count(*) FILTER (WHERE status != 'active'), count(*) FILTER (WHERE email_hidden) FROM users`,
		&p.Users, &p.WithEmail, &p.Inactive, &p.EmailHidden); err != nil {
		return nil, err
	}
	if err := one(`SELECT count(*) FROM events WHERE mentions > 0`, &p.Mentioning); err != nil {
		return nil, err
	}
	p.Fields = []string{"users.email", "users.display_name", "account ids of authors and actors (events.actor, *.author)",
		"user mentions in page, blog post and comment bodies", "page, comment and attachment contents"}
	err = in.rows(ctx, `SELECT key, coalesce(name, ''), data_records FROM apps ORDER BY key`, func(r *sql.Rows) error {
		var a App
		if err := r.Scan(&a.Key, &a.Name, &a.DataRecords); err != nil {
			return err
		}
		s.Apps = append(s.Apps, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Two queries, not one with a window: a top ten keeps ten rows, where
	// ranking every attachment held 16 MB more at 400,000 pages.
	attachments := func(q string, into *[]Attachment) error {
		return in.rows(ctx, q, func(r *sql.Rows) error {
			var a Attachment
			if err := r.Scan(&a.ID, &a.Filename, &a.Space, &a.Size); err != nil {
				return err
			}
			*into = append(*into, a)
			return nil
		})
	}
	if err := attachments(`SELECT id, filename, space_key, size FROM attachments WHERE size IS NOT NULL ORDER BY size DESC, id LIMIT 10`, &s.Largest); err != nil {
		return nil, err
	}
	err = attachments(fmt.Sprintf(`SELECT id, filename, space_key, size FROM attachments WHERE size > %d ORDER BY size DESC, id`, int64(cloudUploadLimit)), &s.OverLimit)
	sort.Slice(s.NotCopied, func(i, j int) bool { return s.NotCopied[i].Events > s.NotCopied[j].Events })
	return s, err
}

func (in *Inspector) rows(ctx context.Context, q string, each func(*sql.Rows) error) error {
	db, err := in.database(ctx)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
