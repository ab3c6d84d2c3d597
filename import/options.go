package importer

import (
	"crypto/ed25519"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"ferry/archive"
)

// Policy is what to do with a space whose key the destination already
// uses (compared case-insensitively).
type Policy string

const (
	Fail   Policy = "fail"   // stop before anything is written
	Skip   Policy = "skip"   // leave the space, and everything in it, out
	Rename Policy = "rename" // copy it under a free key, its name tagged "(copied)"
)

// ParsePolicy reads an --on-conflict value.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case Fail, Skip, Rename:
		return p, nil
	}
	return "", fmt.Errorf("--on-conflict %q: want fail, skip or rename", s)
}

// Options control an import.
type Options struct {
	OnConflict Policy
	// OnTitleConflict is what a title the destination already has in the
	// space does, where titles must be unique (Confluence Cloud); ""
	// renames it "TITLE (copied)".
	OnTitleConflict Policy
	MergeGroups     bool // merge source groups into same-named destination groups
	// Invite invites, into Confluence Cloud, the archive's users without
	// access to it (each grows the bill), after the review; InviteWait is
	// how long the import waits for the invitations to take effect (15
	// minutes if 0). OnReview, if set, is shown the review first.
	Invite      bool
	InviteWait  time.Duration
	OnReview    func(*Report)
	Map         *Mapping // hand-made mappings of users, groups and space keys
	Spaces      []string // import only these spaces (and the users and groups they need)
	DryRun      bool     // do everything, then roll it back
	BatchEvents int      // events per transaction; 0 means 2000
	Progress    func(*Report)
	// BeforeEvent, if set, runs before each event is applied; an error
	// stops the import there as a crash would. Tests use it.
	BeforeEvent func(seq int64) error
	// Read holds how to read the archive: the age identities of an
	// encrypted one.
	Read []archive.ReadOption
	// AllowMissingApps copies even when apps installed at the source are
	// missing at the destination (they are listed either way).
	AllowMissingApps bool
	// Trusted, when not nil, is the trust list: the archive must be signed
	// by one of these keys, or nothing is imported.
	Trusted []ed25519.PublicKey
}

// Mapping is the content of a --map file: CSV rows "kind,source,destination"
// with kind user (source account id or email, destination account id),
// group (source name, destination name) or space (source key, destination
// key).
type Mapping struct {
	Users  map[string]string // lower-cased email or account id → destination account id
	Groups map[string]string // source name → destination name
	Spaces map[string]string // upper-cased source key → destination key
}

// ReadMapping parses a --map file.
func ReadMapping(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--map: %w", err)
	}
	defer f.Close()
	return parseMapping(f, path)
}

func parseMapping(r io.Reader, name string) (*Mapping, error) {
	m := &Mapping{Users: map[string]string{}, Groups: map[string]string{}, Spaces: map[string]string{}}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("--map %s: %w", name, err)
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("--map %s line %d: want kind,source,destination; got %d fields", name, line, len(rec))
		}
		kind, src, dst := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		if line == 1 && kind == "kind" {
			continue // a header row
		}
		if src == "" || dst == "" {
			return nil, fmt.Errorf("--map %s line %d: source and destination must not be empty", name, line)
		}
		switch kind {
		case "user":
			m.Users[strings.ToLower(src)] = dst
		case "group":
			m.Groups[src] = dst
		case "space":
			m.Spaces[strings.ToUpper(src)] = dst
		default:
			return nil, fmt.Errorf("--map %s line %d: kind %q: want user, group or space", name, line, kind)
		}
	}
}

func (m *Mapping) user(accountID, email string) string {
	if m == nil {
		return ""
	}
	if d := m.Users[strings.ToLower(accountID)]; d != "" {
		return d
	}
	if email != "" {
		return m.Users[strings.ToLower(email)]
	}
	return ""
}

func (m *Mapping) group(name string) string {
	if m == nil {
		return ""
	}
	return m.Groups[name]
}

func (m *Mapping) space(key string) string {
	if m == nil {
		return ""
	}
	return m.Spaces[strings.ToUpper(key)]
}

// Counts are what an import did with one kind of entity.
type Counts struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Deleted   int64 `json:"deleted"`
	Unchanged int64 `json:"unchanged"`
	Merged    int64 `json:"merged"`
	Skipped   int64 `json:"skipped"`
	NotCopied int64 `json:"not_copied"`
}

// Report is what an import did, or for a dry run would do.
type Report struct {
	Archive     string             `json:"archive"`
	ArchiveID   string             `json:"archive_id"`
	DryRun      bool               `json:"dry_run"`
	ResumedFrom int64              `json:"resumed_from_seq,omitempty"`
	Applied     int64              `json:"applied_before,omitempty"` // events a previous, interrupted run applied
	Events      int64              `json:"events"`
	Kinds       map[string]*Counts `json:"kinds"`
	NotCopied   map[string]int64   `json:"not_copied"` // reason → events
	Skipped     map[string]int64   `json:"skipped"`    // reason → events
	Changed     map[string]int64   `json:"changed"`    // written otherwise than the source has it: reason → events
	Conflicts   []string           `json:"conflicts"`
	Renamed     []string           `json:"renamed,omitempty"` // content written under another title, and why
	Merges      []GroupMerge       `json:"group_merges"`
	Linked      []string           `json:"users_linked"` // source users linked to existing accounts
	// SameEmail are source users that share an email with another source
	// user, and so became one account with it (see Duplicates).
	SameEmail  []string `json:"users_sharing_an_email,omitempty"`
	Duplicates []string `json:"duplicate_emails"`
	// MissingApps are apps installed at the source and not at the
	// destination: their data is not copied, and macros and links into it
	// break until they are installed.
	MissingApps []string `json:"missing_apps"`
	// NewBillable counts accounts the import creates that join a group at
	// the destination: what the destination's bill grows by, where groups
	// give product access. Into Confluence Cloud: the users without access
	// to it, whom an invitation would give access.
	NewBillable int64 `json:"new_accounts_in_groups"`
	// People are the source users Confluence Cloud could not simply link
	// (without access, unchecked, unmatched), with what was not granted
	// to them; Invited counts the invitations this run sent.
	People  []*Person `json:"people,omitempty"`
	Invited int64     `json:"invited,omitempty"`
	// Notes are what the import did that a reviewer should know of.
	Notes   []string `json:"notes,omitempty"`
	Seconds float64  `json:"seconds"`
	PeakRSS int64    `json:"peak_rss_bytes,omitempty"` // of the whole process
}

// GroupMerge is a source group merged into a destination group, and who
// gains access through it.
type GroupMerge struct {
	Group string `json:"group"`
	// Existing destination members who gain the source group's access in
	// the imported spaces.
	DestinationMembersGain []string `json:"destination_members_gain"`
	// Source members who gain the destination group's existing access.
	SourceMembersGain []string `json:"source_members_gain"`
}

func (r *Report) kind(k string) *Counts {
	c, ok := r.Kinds[k]
	if !ok {
		c = &Counts{}
		r.Kinds[k] = c
	}
	return c
}

// Totals sums the counts over all kinds.
func (r *Report) Totals() Counts {
	var t Counts
	for _, c := range r.Kinds {
		t.Created += c.Created
		t.Updated += c.Updated
		t.Deleted += c.Deleted
		t.Unchanged += c.Unchanged
		t.Merged += c.Merged
		t.Skipped += c.Skipped
		t.NotCopied += c.NotCopied
	}
	return t
}

// KindNames lists the kinds in the report, sorted.
func (r *Report) KindNames() []string {
	return slices.Sorted(maps.Keys(r.Kinds))
}
