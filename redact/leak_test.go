package redact

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"
	"ferry/internal/replay"
	"ferry/model"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

var ctx = context.Background()

// The person planted in the site: an account whose id is an email (as
// in exports from Server), a page whose title holds the email, and a
// word of the planted kind in every free-text field.
const (
	plantedEmail = "carol.danvers@acme-corp.com"
	plantedName  = "Carol Danvers"
)

// plantedWords go one into each free-text field a reviewer could read.
var plantedWords = []string{"quuxbody", "quuxmessage", "quuxdescription", "quuxtemplate", "quuxtemplatename", "quuxlabel",
	"quuxfilename", "quuxcomment", "quuxanchor", "quuxgroup", "quuxcategory", "quuxproperty", "quuxspacename"}

// plantedSite generates a site and adds the planted person and words.
func plantedSite(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "site.db")
	site, err := embedded.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 12, Spaces: 2, Pages: 24, Seed: 5, AttachmentBytes: 2000}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	err = site.Update(ctx, at, plantedEmail, func(tx *embedded.Tx) error {
		steps := []error{
			tx.PutUser(model.User{AccountID: plantedEmail, Email: plantedEmail, DisplayName: plantedName, Status: "active", AccountType: "atlassian"}),
			tx.CreateGroup(model.Group{ID: "g-planted", Name: "quuxgroup"}),
			tx.AddMembership(model.Membership{GroupID: "g-planted", AccountID: plantedEmail}),
			tx.CreateSpace(model.Space{ID: "s-planted", Key: "PLANT", Name: "quuxspacename of " + plantedName, Type: "global", Status: "current",
				Description: "quuxdescription by " + plantedEmail, Categories: []string{"quuxcategory"},
				Templates: []model.Template{{Name: "quuxtemplatename", Body: "<p>quuxtemplate</p>"}}, CreatedAt: at, Author: plantedEmail}),
			tx.GrantPermission(model.SpacePermission{ID: "sp-planted", SpaceID: "s-planted", PrincipalType: "user", PrincipalID: plantedEmail, Operation: "read:space"}),
			tx.CreateContent(model.Content{ID: "c-planted", Type: "page", SpaceID: "s-planted", Status: "current", CreatedAt: at, Author: plantedEmail}),
			tx.AddVersion(model.Version{ContentID: "c-planted", Number: 1, Title: "Onboarding for " + plantedEmail,
				Body: "<p>quuxbody " + plantedName + " wrote this</p>", Author: plantedEmail, At: at, Message: "quuxmessage for " + plantedName}),
			tx.AddLabel(model.Label{ContainerID: "c-planted", Prefix: "global", Name: "quuxlabel"}),
			tx.AddRestriction(model.Restriction{ContainerID: "c-planted", Operation: "read", PrincipalType: "user", PrincipalID: plantedEmail}),
			tx.SetProperty(model.Property{ContainerID: "c-planted", Key: "planted-key", Value: json.RawMessage(`{"text":"quuxproperty by ` + plantedName + `"}`), Version: 1}),
			tx.CreateComment(model.Comment{ID: "cm-planted", ContainerID: "c-planted", Location: "inline", Status: "current", Author: plantedEmail, CreatedAt: at,
				Anchor: &model.InlineAnchor{Selection: "quuxanchor", MarkerRef: "m1"}}),
			tx.AddCommentVersion(model.Version{ContentID: "cm-planted", Number: 1, Body: "<p>quuxbody too</p>", Author: plantedEmail, At: at}),
			tx.CreateAttachment(model.Attachment{ID: "a-planted", ContainerID: "c-planted", Filename: "quuxfilename.pdf", MediaType: "application/pdf", Author: plantedEmail, CreatedAt: at}),
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
		digest, err := tx.PutBlob([]byte("%PDF quuxbody"))
		if err != nil {
			return err
		}
		return tx.AddAttachmentVersion(model.AttachmentVersion{AttachmentID: "a-planted", Number: 1, Blob: digest, Size: 13, MediaType: "application/pdf",
			Comment: "quuxcomment", Author: plantedEmail, At: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// sourceSecrets lists every email and display name of the source, and
// every word of its bodies, titles and other free text.
func sourceSecrets(t *testing.T, arch string) (emails, names, words []string) {
	t.Helper()
	f, err := archive.Open(arch)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wordSet := map[string]bool{}
	addWords := func(s string) {
		for _, w := range wordPattern.FindAllString(tagPattern.ReplaceAllString(s, " "), -1) {
			wordSet[strings.ToLower(w)] = true
		}
	}
	err = replay.Each(f, nil, func(_ int64, c *model.Change) error {
		switch p := c.Payload.(type) {
		case *model.User:
			emails = append(emails, p.Email)
			names = append(names, p.DisplayName)
		case *model.Version:
			addWords(p.Body)
			addWords(p.Title)
			addWords(p.Message)
		case *model.Space:
			addWords(p.Description)
			addWords(p.Name)
		case *model.Label:
			addWords(p.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for w := range wordSet {
		words = append(words, w)
	}
	return emails, names, append(words, plantedWords...)
}

var (
	tagPattern  = regexp.MustCompile(`<[^>]*>`)
	wordPattern = regexp.MustCompile(`\pL{4,}`)
)

// members extracts every member of an archive file as text a reviewer
// could read: JSON members as they are, every value of every column of
// every segment, and blobs decompressed.
func members(t *testing.T, path string) map[string]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]string{}
	tr := tar.NewReader(fh)
	dec, _ := zstd.NewReader(nil)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		switch {
		case strings.HasSuffix(h.Name, ".parquet"):
			out[h.Name] = segmentText(t, data)
		case strings.HasSuffix(h.Name, ".zst"):
			plain, err := dec.DecodeAll(data, nil)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			out[h.Name] = string(plain)
		default:
			out[h.Name] = string(data)
		}
	}
}

// segmentText is every value of every column of a Parquet segment.
func segmentText(t *testing.T, data []byte) string {
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	table, err := fr.ReadTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	var b strings.Builder
	for i := 0; i < int(table.NumCols()); i++ {
		col := table.Column(i)
		for _, chunk := range col.Data().Chunks() {
			for j := 0; j < chunk.Len(); j++ {
				if s, ok := chunk.(*array.String); ok && !s.IsNull(j) {
					fmt.Fprintf(&b, "%s %s\n", col.Name(), s.Value(j))
				}
			}
		}
	}
	return b.String()
}

// A copy redacted of everything holds no email, name or word of the
// source's text in any member, once every member is extracted and
// decoded: not in payloads, not in the envelope (ids, actors), not in the
// typed columns (titles, principals), not in the header. (Before the fix a
// title's email survived in page_versions.title, an account id that is an
// email in id, actor and principal_id, and descriptions and version
// messages verbatim.)
func TestRedactedCopyLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	site := plantedSite(t, dir)
	arch := filepath.Join(dir, "site.ferry")
	src, closer, err := export.OpenSource(ctx, site, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.Run(ctx, src, arch, export.Options{}); err != nil {
		t.Fatal(err)
	}
	closer.Close()
	emails, names, words := sourceSecrets(t, arch)
	if len(emails) < 10 || len(names) < 10 || len(words) < 50 {
		t.Fatalf("the source has %d emails, %d names, %d words: too few to test", len(emails), len(names), len(words))
	}
	red := filepath.Join(dir, "red.ferry")
	if _, err := Run(ctx, arch, red, Options{Key: []byte("a key of sixteen bytes or more")}); err != nil {
		t.Fatal(err)
	}
	var leaks []string
	for name, text := range members(t, red) {
		lower := strings.ToLower(text)
		for _, e := range emails {
			if e != "" && strings.Contains(lower, strings.ToLower(e)) {
				leaks = append(leaks, fmt.Sprintf("%s: email %s", name, e))
			}
		}
		for _, n := range names {
			if strings.Contains(text, n) {
				leaks = append(leaks, fmt.Sprintf("%s: name %s", name, n))
			}
		}
		found := map[string]bool{}
		for _, w := range wordPattern.FindAllString(lower, -1) {
			found[w] = true
		}
		for _, w := range words {
			if found[w] && !ferryWords[w] {
				leaks = append(leaks, fmt.Sprintf("%s: word %q", name, w))
			}
		}
	}
	if len(leaks) > 0 {
		if len(leaks) > 30 {
			leaks = append(leaks[:30], fmt.Sprintf("... and %d more", len(leaks)-30))
		}
		t.Errorf("the redacted copy holds:\n  %s", strings.Join(leaks, "\n  "))
	}
}

// ferryWords are words of ferry's own that a redacted copy holds whatever
// the source: JSON keys, column names, statuses and kinds, pseudonym
// prefixes. A source word that is one of them proves nothing.
var ferryWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`person title space template category group label file redacted invalid user users page pages
		blogpost blogposts comment comments attachment attachments version versions body message status current archived trashed
		draft deleted active inactive global personal footer inline read update create delete administer atlassian format wiki
		application text html plain image jpeg octet stream json created updated removed moved renamed restored added granted
		revoked installed data membership permission restriction property properties like likes anchor selection marker match index
		number minor edit author account email display name type types entity parent actor payload events event key value watermark
		until source location site kind format ferry hostile embedded producer manifest members offset sha256 content size columns
		string int64 rows first last count digest blobs bytes stored archive header encryption recipients requires redaction fields
		emails names bodies titles subtype mentions principal operation container position categories settings look feel templates
		homepage logo prefix media filename comment vendor description children notes`) {
		m[w] = true
	}
	for _, c := range model.Columns {
		m[strings.ToLower(c.Name)] = true
	}
	return m
}()
