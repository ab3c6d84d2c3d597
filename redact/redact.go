// Package redact writes a copy of an archive for reviewers: personal data
// is replaced by stable pseudonyms and, when asked, bodies and attachments
// are removed, so that the copy shows the archive's shape without what it
// says about people. Pseudonyms are keyed HMACs: archives redacted with
// the same key give a person the same pseudonym. The copy records what was
// redacted in its manifest, and import refuses it.
package redact

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"ferry/archive"
	"ferry/export"
	"ferry/internal/replay"
	"ferry/model"

	"github.com/google/uuid"
)

// The fields that can be redacted.
const (
	Emails = "emails" // user emails, and email addresses anywhere: text, ids, every column
	Names  = "names"  // users' display names, wherever they appear in text
	// Bodies is every longer free text: page, blog post and comment
	// bodies, version messages, inline comment anchors, space
	// descriptions and templates, attachment version comments, content
	// property values.
	Bodies = "bodies"
	// Titles is the names of things: page and blog post titles, space,
	// group, template and category names, labels and file names.
	Titles      = "titles"
	Attachments = "attachments" // attachment and logo contents (the blobs)
)

// AllFields is every field, the default.
var AllFields = []string{Emails, Names, Bodies, Titles, Attachments}

// Options says what to redact and how to write the copy.
type Options struct {
	Fields   []string // default AllFields
	Key      []byte   // the pseudonym key
	Producer archive.Producer
	Read     []archive.ReadOption // to decrypt the source
	Archive  []archive.Option     // to sign or encrypt the copy
}

// Summary is what Run did.
type Summary struct {
	Archive   string   `json:"archive"`
	ArchiveID string   `json:"archive_id"`
	Source    string   `json:"source_archive_id"`
	Fields    []string `json:"fields"`
	KeyID     string   `json:"key_id"`
	Events    int64    `json:"events"`
	Blobs     int64    `json:"blobs"`
	Dropped   int64    `json:"blobs_dropped"`
}

// KeyID names a pseudonym key without revealing it, so reviewers can tell
// whether two copies were redacted with the same key.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("ferry redact key id\x00"), key...))
	return "hmac-sha256:" + hex.EncodeToString(sum[:8])
}

// CheckFields validates a list of field names.
func CheckFields(fields []string) error {
	for _, f := range fields {
		if !slices.Contains(AllFields, f) {
			return fmt.Errorf("unknown field %q: want some of %s", f, strings.Join(AllFields, ", "))
		}
	}
	return nil
}

// Run writes a redacted copy of the archive at in to out.
func Run(ctx context.Context, in, out string, o Options) (*Summary, error) {
	if len(o.Fields) == 0 {
		o.Fields = AllFields
	}
	if err := CheckFields(o.Fields); err != nil {
		return nil, err
	}
	if len(o.Key) == 0 {
		return nil, fmt.Errorf("redact: a pseudonym key is needed")
	}
	f, err := archive.Open(in, o.Read...)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.CheckIdentities(); err != nil {
		return nil, err
	}
	src := f.Header()
	if f.Manifest().Redaction != nil {
		return nil, fmt.Errorf("%s is already a redacted copy", in)
	}
	r := &redactor{key: o.Key, fields: o.Fields}
	if r.has(Names) {
		if err := r.learnNames(f); err != nil {
			return nil, err
		}
	}
	h := archive.Header{ArchiveID: r.archiveID(src.ArchiveID), Producer: o.Producer, Created: src.Created, Source: src.Source}
	h.Source.Location = r.text(h.Source.Location)
	if r.has(Names) {
		h.Source.Location = "(redacted)" // a path may name its owner
	}
	if src.ParentID != "" {
		h.ParentID = r.archiveID(src.ParentID) // redacted chains still link
	}
	red := archive.Redaction{Source: src.ArchiveID, Fields: o.Fields, KeyID: KeyID(o.Key)}
	opts := append([]archive.Option{archive.WithColumns(export.Columns()...), archive.WithRedaction(red)}, o.Archive...)
	w, err := archive.Create(out, h, opts...)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	sum := &Summary{Archive: out, ArchiveID: h.ArchiveID, Source: src.ArchiveID, Fields: o.Fields, KeyID: red.KeyID}
	if err := r.copyBlobs(f, w, sum); err != nil {
		return nil, err
	}
	err = replay.Each(f, nil, func(seq int64, c *model.Change) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev, err := r.event(seq, c)
		if err != nil {
			return err
		}
		sum.Events++
		return w.WriteEvent(ev)
	})
	if err != nil {
		return nil, err
	}
	w.SetWatermark(f.Manifest().Watermark)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}

type redactor struct {
	key    []byte
	fields []string
	names  *strings.Replacer // display names to pseudonyms
}

// event redacts a change into the event the copy holds. The payload is
// redacted field by field, then its JSON text is scrubbed of emails and
// names wherever they are; the envelope and the typed columns are then
// derived again from that redacted payload, so nothing survives beside it.
func (r *redactor) event(seq int64, c *model.Change) (*archive.Event, error) {
	r.change(c)
	payload, err := r.scrubValues(c.Payload)
	if err == nil {
		c.Payload, err = model.Decode(c.Type, payload)
	}
	if err == nil {
		payload, err = model.Encode(c.Payload)
	}
	if err != nil {
		return nil, fmt.Errorf("redact: event seq %d: %w", seq, err)
	}
	return &archive.Event{Seq: seq, Type: string(c.Type), Entity: c.Type.Kind(), ID: r.id(c.Type.Kind(), c.ID), Parent: r.text(c.Parent),
		Space: r.text(c.Space), At: c.At, Actor: r.text(c.Actor), Payload: payload, Extra: model.ColumnValues(c)}, nil
}

// id redacts an entity's id as its payload is: a label's id holds its
// name (CONTAINER:PREFIX:NAME, spec/EVENTS.md), and ids of relations hold
// account ids, which may be emails. Adding and removing events give the
// same result, so the copy's relations still pair up.
func (r *redactor) id(kind, id string) string {
	id = r.text(id)
	if kind == "label" && r.has(Titles) {
		if parts := strings.SplitN(id, ":", 3); len(parts) == 3 && parts[2] != "" {
			parts[2] = r.labelName(parts[2])
			id = strings.Join(parts, ":")
		}
	}
	return id
}

func (r *redactor) labelName(name string) string { return "label-" + r.pseudonym("title", name) }

// scrubValues returns a payload as JSON with every string value in it (at
// any depth, property values too) scrubbed by text; keys are left alone.
func (r *redactor) scrubValues(payload any) ([]byte, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(r.walk(v))
}

func (r *redactor) walk(v any) any {
	switch x := v.(type) {
	case string:
		return r.text(x)
	case []any:
		for i := range x {
			x[i] = r.walk(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = r.walk(e)
		}
	}
	return v
}

// text scrubs emails and display names out of a text.
func (r *redactor) text(s string) string {
	if r.has(Emails) {
		s = string(r.scrubEmails([]byte(s)))
	}
	if r.names != nil {
		s = r.names.Replace(s)
	}
	return s
}

// learnNames reads the archive's users and prepares to replace each
// display name wherever it appears.
func (r *redactor) learnNames(f *archive.File) error {
	var pairs []string
	seen := map[string]bool{}
	err := replay.Each(f, func(t model.EventType) bool { return t.Kind() == "user" }, func(_ int64, c *model.Change) error {
		u, ok := c.Payload.(*model.User)
		if !ok || len(strings.TrimSpace(u.DisplayName)) < 3 || seen[u.DisplayName] {
			return nil // a name of one or two letters would replace letters everywhere
		}
		seen[u.DisplayName] = true
		pairs = append(pairs, u.DisplayName, r.personName(u.AccountID))
		return nil
	})
	if err != nil {
		return err
	}
	// Longer names first, so "Ann Lee Smith" is not cut by "Ann Lee".
	type pair struct{ from, to string }
	ps := make([]pair, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, pair{pairs[i], pairs[i+1]})
	}
	slices.SortFunc(ps, func(a, b pair) int { return len(b.from) - len(a.from) })
	flat := make([]string, 0, len(pairs))
	for _, p := range ps {
		flat = append(flat, p.from, p.to)
	}
	r.names = strings.NewReplacer(flat...)
	return nil
}

func (r *redactor) personName(accountID string) string {
	return "Person " + r.pseudonym("name", accountID)
}

func (r *redactor) has(field string) bool { return slices.Contains(r.fields, field) }

// pseudonym is a short keyed hash of what, in a namespace.
func (r *redactor) pseudonym(namespace, what string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(namespace + "\x00" + what))
	return hex.EncodeToString(m.Sum(nil)[:6])
}

// archiveID derives the copy's id from the source's and the key, so the
// same archive redacted with the same key gets the same id.
func (r *redactor) archiveID(source string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("ferry-redact:"+KeyID(r.key)+":"+source)).String()
}

func (r *redactor) email(addr string) string {
	return "user-" + r.pseudonym("email", strings.ToLower(addr)) + "@redacted.invalid"
}

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// scrubEmails replaces every email address in a JSON text by its pseudonym
// (pseudonyms are plain ASCII, so the JSON stays valid).
func (r *redactor) scrubEmails(payload []byte) []byte {
	return emailPattern.ReplaceAllFunc(payload, func(m []byte) []byte {
		if strings.HasSuffix(string(m), "@redacted.invalid") {
			return m
		}
		return []byte(r.email(string(m)))
	})
}

// blank keeps a text's length, so reports of sizes stay true, and nothing
// else.
func blank(s string) string { return strings.Repeat("x", len(s)) }

// change redacts a change's payload in place, field by field: bodies
// become runs of "x" of their length (sizes stay true), titles and names
// of things become keyed pseudonyms (equal names stay equal).
func (r *redactor) change(c *model.Change) {
	bodies, titles := r.has(Bodies), r.has(Titles)
	body := func(s *string) {
		if bodies {
			*s = blank(*s)
		}
	}
	title := func(s *string, prefix string) {
		if titles && *s != "" {
			*s = prefix + r.pseudonym("title", *s)
		}
	}
	switch p := c.Payload.(type) {
	case *model.User:
		if r.has(Emails) && p.Email != "" {
			p.Email = r.email(p.Email)
		}
		if r.has(Names) {
			p.DisplayName = r.personName(p.AccountID)
		}
	case *model.Version:
		body(&p.Body)
		body(&p.Message)
		title(&p.Title, "Title ")
	case *model.Comment:
		if p.Anchor != nil {
			body(&p.Anchor.Selection)
		}
	case *model.Space:
		body(&p.Description)
		title(&p.Name, "Space ")
		for i := range p.Templates {
			body(&p.Templates[i].Body)
			title(&p.Templates[i].Name, "Template ")
		}
		for i := range p.Categories {
			title(&p.Categories[i], "category-")
		}
		if r.has(Attachments) {
			p.Logo = ""
		}
	case *model.Group:
		title(&p.Name, "group-")
		title(&p.OldName, "group-")
	case *model.Label:
		if titles && p.Name != "" {
			p.Name = r.labelName(p.Name)
		}
	case *model.Deleted:
		p.ID = r.id(c.Type.Kind(), p.ID)
	case *model.Attachment:
		if titles && p.Filename != "" {
			p.Filename = "file-" + r.pseudonym("title", p.Filename) + extension(p.Filename)
		}
	case *model.AttachmentVersion:
		body(&p.Comment)
	case *model.Property:
		if bodies {
			v, _ := json.Marshal(blank(string(p.Value)))
			p.Value = v
		}
	}
}

// extension keeps a file name's extension when it is a plain one, for
// reviews of what kinds of files there are.
func extension(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if len(ext) < 2 || len(ext) > 6 {
		return ""
	}
	for _, c := range ext[1:] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return ext
}

// copyBlobs copies the blobs unless attachments are redacted.
func (r *redactor) copyBlobs(f *archive.File, w *archive.Writer, sum *Summary) error {
	return f.Walk(func(m *archive.Member) error {
		if m.Kind != archive.KindBlob {
			return nil
		}
		if r.has(Attachments) {
			sum.Dropped++
			return nil
		}
		rd, err := f.OpenBlob(m.Digest)
		if err != nil {
			return err
		}
		_, _, err = w.AddBlob(rd)
		rd.Close()
		if err != nil {
			return err
		}
		sum.Blobs++
		return nil
	})
}
