// Package redact writes a copy of an archive for reviewers: personal data
// is replaced by stable pseudonyms and, when asked, bodies and attachments
// are removed, so that the copy shows the archive's shape without what it
// says about people. Pseudonyms are keyed HMACs: archives redacted with
// the same key give a person the same pseudonym. The copy records what was
// redacted in its manifest, and import refuses it.
package redact

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	Emails      = "emails"      // user emails, and email addresses anywhere in text
	Names       = "names"       // users' display names
	Bodies      = "bodies"      // page, blog post and comment bodies, inline comment anchors, templates
	Attachments = "attachments" // attachment and logo contents (the blobs)
)

// AllFields is every field, the default.
var AllFields = []string{Emails, Names, Bodies, Attachments}

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
	h := archive.Header{ArchiveID: r.archiveID(src.ArchiveID), Producer: o.Producer, Created: src.Created, Source: src.Source}
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
		r.change(c)
		payload, err := json.Marshal(c.Payload)
		if err != nil {
			return err
		}
		if r.has(Emails) {
			payload = r.scrubEmails(payload)
		}
		sum.Events++
		return w.WriteEvent(&archive.Event{Seq: seq, Type: string(c.Type), Entity: c.Type.Kind(), ID: c.ID, Parent: c.Parent,
			Space: c.Space, At: c.At, Actor: c.Actor, Payload: payload, Extra: model.ColumnValues(c)})
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

// change redacts a change's payload in place.
func (r *redactor) change(c *model.Change) {
	switch p := c.Payload.(type) {
	case *model.User:
		if r.has(Emails) && p.Email != "" {
			p.Email = r.email(p.Email)
		}
		if r.has(Names) {
			p.DisplayName = "Person " + r.pseudonym("name", p.AccountID)
		}
	case *model.Version:
		if r.has(Bodies) {
			p.Body = blank(p.Body)
		}
	case *model.Comment:
		if r.has(Bodies) && p.Anchor != nil {
			p.Anchor.Selection = blank(p.Anchor.Selection)
		}
	case *model.Space:
		if r.has(Bodies) {
			for i := range p.Templates {
				p.Templates[i].Body = blank(p.Templates[i].Body)
			}
		}
		if r.has(Attachments) {
			p.Logo = ""
		}
	}
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
