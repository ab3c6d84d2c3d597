package archive

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Golden archives are committed under spec/testdata and never rewritten:
// every future version of ferry must read them exactly as they were
// written. goldenFixture is their content, frozen: do not change it.
// A new format version adds a new golden file beside the old ones.

var writeGolden = flag.String("write-golden", "", "write a new golden archive of the current format to this path")

const goldenDir = "../spec/testdata"

func goldenFixture() (Header, []Event, [][]byte) {
	h := Header{
		ArchiveID: "6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5",
		Producer:  Producer{Name: "ferry", Version: "0.1.0"},
		Created:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Source:    Source{Kind: "embedded", Location: "golden.db", SiteID: "golden-site"},
	}
	blobs := [][]byte{
		[]byte("Quarterly report\n" + string(bytes.Repeat([]byte("revenue grew; costs fell. "), 40))),
		{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R'},
		[]byte(""),
	}
	at := time.Date(2024, 3, 1, 9, 30, 0, 123456000, time.UTC)
	var events []Event
	add := func(typ, entity, id, parent, space, actor, payload string) {
		events = append(events, Event{
			Seq: int64(len(events) + 1), Type: typ, Entity: entity, ID: id, Parent: parent, Space: space,
			At: at.Add(time.Duration(len(events)) * time.Minute), Actor: actor, Payload: []byte(payload),
		})
	}
	add("user.created", "user", "u1", "", "", "", `{"email":"ada@example.com","display_name":"Ada Lovelace","status":"active"}`)
	add("user.created", "user", "u2", "", "", "", `{"email":"grace@example.com","display_name":"Grace Hopper","status":"active"}`)
	add("group.created", "group", "g1", "", "", "", `{"name":"engineering"}`)
	add("membership.added", "membership", "g1:u1", "g1", "", "u1", `{}`)
	add("space.created", "space", "s1", "", "ENG", "u1", `{"key":"ENG","name":"Engineering","type":"global"}`)
	for i := 1; i <= 120; i++ {
		add("page.version", "page", fmt.Sprintf("p%d", (i-1)/4+1), "", "ENG", []string{"u1", "u2"}[i%2],
			fmt.Sprintf(`{"title":"Design note %d","version":%d,"body":"<p>Übersicht – step %d ✓</p>"}`, (i-1)/4+1, (i-1)%4+1, i))
	}
	add("attachment.version", "attachment", "a1", "p1", "ENG", "u2", fmt.Sprintf(`{"blob":"%s","name":"report.txt"}`, digestOf(blobs[0])))
	add("attachment.version", "attachment", "a2", "p2", "ENG", "u2", fmt.Sprintf(`{"blob":"%s","name":"logo.png"}`, digestOf(blobs[1])))
	add("attachment.version", "attachment", "a3", "p2", "ENG", "u2", fmt.Sprintf(`{"blob":"%s","name":"empty.txt"}`, digestOf(blobs[2])))
	add("page.deleted", "page", "p30", "", "ENG", "u1", "")
	return h, events, blobs
}

// goldenKey signs golden archives since 1.2 (its seed is public: it proves
// nothing but that signatures still check).
var goldenKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// goldenLimits is what golden archives since 1.3 say their reader could
// not see of the source.
const goldenLimits = "restricted spaces and pages: read without an admin key"

// writeGoldenArchive writes the fixture with what the current format
// version adds: since 1.1, producer columns (a title and a body size for
// page versions); since 1.2, a signature; since 1.3, the source's
// visibility.
func writeGoldenArchive(w io.Writer) error {
	h, events, blobs := goldenFixture()
	h.Source.Visibility, h.Source.Limits = "limited", goldenLimits
	for i, ev := range events {
		if ev.Type == "page.version" {
			var p struct{ Title, Body string }
			json.Unmarshal(ev.Payload, &p)
			events[i].Extra = []any{p.Title, int64(len(p.Body))}
		}
	}
	aw, err := NewWriter(w, h, WithColumns(Column{"title", StringColumn}, Column{"body_bytes", Int64Column}),
		WithSigner(goldenKey, "golden signer"))
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if _, _, err := aw.AddBlob(bytes.NewReader(b)); err != nil {
			return err
		}
	}
	for i := range events {
		if err := aw.WriteEvent(&events[i]); err != nil {
			return err
		}
	}
	aw.SetWatermark(`{"until":"2024-03-01T12:00:00Z"}`)
	return aw.Close()
}

// TestMain with -write-golden=PATH writes a new golden archive instead of
// testing (a new golden file for a new format version; never an old one).
func TestMain(m *testing.M) {
	flag.Parse()
	if *writeGolden != "" {
		if err := createGolden(*writeGolden); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func createGolden(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%w (golden archives are never rewritten)", err)
	}
	if err := writeGoldenArchive(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// TestGoldenArchivesStillRead reads every committed golden archive, in
// both modes, and compares it with the frozen fixture.
func TestGoldenArchivesStillRead(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(goldenDir, "golden-*.ferry"))
	if len(paths) == 0 {
		t.Fatal("no golden archives in spec/testdata")
	}
	h, events, blobs := goldenFixture()
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if rep := verify(t, data); !rep.Intact {
				t.Fatalf("verify: %v", rep.Problems)
			}
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := f.Header()
			want := h.Source
			if _, minor, _ := parseVersion(got.Version); minor >= 3 {
				want.Visibility, want.Limits = "limited", goldenLimits
			}
			if got.ArchiveID != h.ArchiveID || got.Source != want || !got.Created.Equal(h.Created) || got.Producer != h.Producer {
				t.Errorf("header = %+v", got)
			}
			if wm := f.Manifest().Watermark; wm != `{"until":"2024-03-01T12:00:00Z"}` {
				t.Errorf("watermark = %q", wm)
			}
			if n := f.Manifest().Events.ByType["page.version"]; n != 120 {
				t.Errorf("manifest counts %d page.version events, want 120", n)
			}
			if got, want := f.Manifest().Events.Digest, EventsDigest(events); got != want {
				t.Errorf("manifest events digest %s, the fixture's is %s", got, want)
			}
			checkEvents(t, f.Events(), events)
			if sig, err := f.Signature(); err != nil || sig != nil && sig.Trusted([]ed25519.PublicKey{goldenKey.Public().(ed25519.PublicKey)}) != nil {
				t.Errorf("signature %+v: %v", sig, err)
			}
			q, err := OpenQuick(p)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			checkEvents(t, q.Events(), events)
			for _, b := range blobs {
				r, err := f.OpenBlob(digestOf(b))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, b) {
					t.Fatalf("blob %s: %v", digestOf(b), err)
				}
			}
		})
	}
}

// TestWritingIsDeterministic: the same content and header give the same
// bytes, so archives can be compared and reproduced.
func TestWritingIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := writeGoldenArchive(&a); err != nil {
		t.Fatal(err)
	}
	if err := writeGoldenArchive(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of the same content differ")
	}
}
