package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// readAll opens data with random access and reads every event and blob,
// as an importer would. It returns the first error.
func readAll(data []byte) error {
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	defer f.Close()
	return readMembers(f)
}

// smallArchive is the archive the corruption tests damage.
func smallArchive(t testing.TB) []byte {
	return makeFixture(200, 9, 7).bytes(t)
}

func TestEveryByteFlipIsDetected(t *testing.T) {
	data := smallArchive(t)
	rng := rand.New(rand.NewSource(1))
	offsets := make([]int, 0, len(data))
	if testing.Short() {
		for i := 0; i < 2000; i++ {
			offsets = append(offsets, rng.Intn(len(data)))
		}
	} else {
		for i := range data {
			offsets = append(offsets, i)
		}
	}
	t.Logf("archive of %d bytes, flipping %d offsets", len(data), len(offsets))
	damaged := make([]byte, len(data))
	for _, off := range offsets {
		copy(damaged, data)
		damaged[off] ^= byte(1 + rng.Intn(255))
		if rep := verify(t, damaged); rep.Intact {
			t.Fatalf("verify missed a flipped byte at offset %d", off)
		} else if len(rep.Problems) == 0 {
			t.Fatalf("offset %d: damaged but no problem named", off)
		}
		if err := readAll(damaged); err == nil {
			t.Fatalf("random-access read missed a flipped byte at offset %d", off)
		}
	}
}

func TestTruncationIsDetected(t *testing.T) {
	data := smallArchive(t)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// Every member boundary (header start, data start, data end), the
	// middle of every member, and every block boundary.
	cuts := map[int]bool{0: true, 1: true, len(data) - 1: true, len(data) - 512: true, len(data) - 1024: true}
	for _, m := range f.Members() {
		for _, c := range []int64{m.Offset - 512, m.Offset, m.Offset + m.Size/2, m.Offset + m.Size} {
			cuts[int(c)] = true
		}
	}
	for c := 0; c < len(data); c += 512 {
		cuts[c] = true
	}
	for c := range cuts {
		if c < 0 || c >= len(data) {
			continue
		}
		cut := data[:c]
		if rep := verify(t, cut); rep.Intact {
			t.Errorf("verify accepted the archive cut at %d of %d bytes", c, len(data))
		}
		if err := readAll(cut); err == nil {
			t.Errorf("random-access read accepted the archive cut at %d of %d bytes", c, len(data))
		}
	}
}

func TestDamagedMembersAreAllNamed(t *testing.T) {
	data := smallArchive(t)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var blobs []*Member
	for _, m := range f.Members() {
		if m.Kind == KindBlob {
			blobs = append(blobs, m)
		}
	}
	damaged := bytes.Clone(data)
	damaged[blobs[0].Offset] ^= 0xff
	damaged[blobs[2].Offset+1] ^= 0xff
	rep := verify(t, damaged)
	named := map[string]bool{}
	for _, p := range rep.Problems {
		named[p.Member] = true
		if !errors.Is(p.Err(), ErrChecksum) && !errors.Is(p.Err(), ErrManifest) && !errors.Is(p.Err(), ErrCorrupt) {
			t.Errorf("problem %q is not a checksum or corruption error", p.Error)
		}
	}
	if !named[blobs[0].Name] || !named[blobs[2].Name] {
		t.Fatalf("report names %v, want both %s and %s", rep.Problems, blobs[0].Name, blobs[2].Name)
	}
	// Verify checks members on every core; it still reports them in the
	// archive's order, once each.
	offset := map[string]int64{}
	for _, m := range f.Members() {
		offset[m.Name] = m.Offset
	}
	last := int64(-1)
	for _, p := range rep.Problems {
		at, ok := offset[p.Member]
		if !ok {
			continue // the manifest's counts
		}
		if at <= last {
			t.Fatalf("problems out of archive order: %v", rep.Problems)
		}
		last = at
	}
}

// rawMember is one member of a hand-built tar, for crafting bad archives.
type rawMember struct {
	name     string
	data     []byte
	typeflag byte
	pax      map[string]string // FERRY.sha256 is filled in unless present
	size     int64             // declared size when non-zero
}

func buildRaw(t testing.TB, members []rawMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		pax := map[string]string{}
		for k, v := range m.pax {
			pax[k] = v
		}
		if _, ok := pax[paxSHA256]; !ok {
			pax[paxSHA256] = digestOf(m.data)
		}
		hdr := &tar.Header{Name: m.name, Size: int64(len(m.data)), Mode: 0o644, Typeflag: m.typeflag, Format: tar.FormatPAX, PAXRecords: pax, ModTime: time.Unix(0, 0)}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
			hdr.Linkname, hdr.Size = "/etc/passwd", 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	return buf.Bytes()
}

// headerJSON renders a header, optionally changed by edit.
func headerJSON(t testing.TB, edit func(map[string]any)) []byte {
	h := testHeader()
	h.Format, h.Version = FormatName, Version
	b, _ := json.Marshal(h)
	var m map[string]any
	json.Unmarshal(b, &m)
	if edit != nil {
		edit(m)
	}
	b, _ = json.Marshal(m)
	return b
}

// manifestFor lists members (all but the header's entry are given) in a
// manifest, optionally changed by edit, with a correct checksum.
func manifestFor(t testing.TB, members []rawMember, edit func(map[string]any)) rawMember {
	var entries []map[string]any
	var blobs, content, stored int64
	for _, m := range members {
		sum := digestOf(m.data)
		if s, ok := m.pax[paxSHA256]; ok {
			sum = s // the member was damaged after it was listed
		}
		e := map[string]any{"name": m.name, "size": len(m.data), "sha256": sum}
		if cs, ok := m.pax[paxContentSize]; ok {
			n, _ := strconv.ParseInt(cs, 10, 64)
			e["content_size"] = n
			blobs, content, stored = blobs+1, content+n, stored+int64(len(m.data))
		}
		entries = append(entries, e)
	}
	h := testHeader()
	mf := map[string]any{
		"format": FormatName, "version": Version, "archive_id": h.ArchiveID, "members": entries,
		"events":    map[string]any{"count": 0, "first_seq": 0, "last_seq": 0, "by_type": map[string]any{}},
		"blobs":     map[string]any{"count": blobs, "content_bytes": content, "stored_bytes": stored},
		"watermark": "",
	}
	if edit != nil {
		edit(mf)
	}
	b, _ := json.Marshal(mf)
	return rawMember{name: ManifestName, data: appendManifestChecksum(b[:len(b)-1])}
}

// withManifest builds an archive of members plus a manifest listing them.
func withManifest(t testing.TB, members []rawMember, edit func(map[string]any)) []byte {
	return buildRaw(t, append(members, manifestFor(t, members, edit)))
}

func header(t testing.TB) rawMember {
	return rawMember{name: HeaderName, data: headerJSON(t, nil)}
}

func blob(content []byte) rawMember {
	return rawMember{name: blobName(digestOf(content), false), data: content,
		pax: map[string]string{paxContentSize: strconv.Itoa(len(content))}}
}

func zblob(enc *zstd.Encoder, content []byte) rawMember {
	return rawMember{name: blobName(digestOf(content), true), data: enc.EncodeAll(content, nil),
		pax: map[string]string{paxContentSize: strconv.Itoa(len(content))}}
}

// expectRefused checks that both readers refuse data with err wrapping want.
func expectRefused(t *testing.T, data []byte, want error, mention string, verifyOnly bool) {
	t.Helper()
	rep := verify(t, data)
	if rep.Intact {
		t.Fatalf("verify accepted it")
	}
	if !errors.Is(rep.Problems[0].Err(), want) {
		t.Errorf("verify: %v, want %v", rep.Problems[0].Err(), want)
	}
	if !strings.Contains(rep.Problems[0].Error, mention) {
		t.Errorf("verify: %q does not mention %q", rep.Problems[0].Error, mention)
	}
	if verifyOnly {
		return
	}
	err := readAll(data)
	if !errors.Is(err, want) {
		t.Errorf("random access: %v, want %v", err, want)
	}
}

func TestHostileArchivesAreRefused(t *testing.T) {
	good := []byte("attachment")
	bomb := bytes.Repeat([]byte{0}, 10<<20)
	enc, _ := zstd.NewWriter(nil)
	bombZ := enc.EncodeAll(bomb, nil)
	cases := []struct {
		name    string
		data    func(t *testing.T) []byte
		want    error
		mention string
	}{
		{"parent directory name", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "../x", data: good}}, nil)
		}, ErrInsecureName, "../x"},
		{"absolute name", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "/etc/cron.d/x", data: good}}, nil)
		}, ErrInsecureName, "/etc/cron.d/x"},
		{"dot-dot inside name", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "blobs/../../x", data: good}}, nil)
		}, ErrInsecureName, "blobs/../../x"},
		{"symlink", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "blobs/link", typeflag: tar.TypeSymlink}}, nil)
		}, ErrFraming, "not a regular file"},
		{"hard link", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "blobs/link", typeflag: tar.TypeLink}}, nil)
		}, ErrFraming, "not a regular file"},
		{"device", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "dev", typeflag: tar.TypeChar}}, nil)
		}, ErrFraming, "not a regular file"},
		{"oversize header", func(t *testing.T) []byte {
			h := headerJSON(t, func(m map[string]any) { m["padding"] = strings.Repeat("x", maxHeaderSize) })
			return withManifest(t, []rawMember{{name: HeaderName, data: h}}, nil)
		}, ErrTooLarge, HeaderName},
		{"decompression bomb", func(t *testing.T) []byte {
			m := rawMember{name: blobName(digestOf(bomb), true), data: bombZ, pax: map[string]string{paxContentSize: "1000"}}
			return withManifest(t, []rawMember{header(t), m}, nil)
		}, ErrTooLarge, "decompression bomb"},
		{"compressed blob content not matching its name", func(t *testing.T) []byte {
			m := zblob(enc, good)
			m.name = blobName(digestOf([]byte("other")), true)
			return withManifest(t, []rawMember{header(t), m}, nil)
		}, ErrChecksum, "content hashes to"},
		{"raw blob content not matching its name", func(t *testing.T) []byte {
			m := blob(good)
			m.name = blobName(digestOf([]byte("other")), false)
			return withManifest(t, []rawMember{header(t), m}, nil)
		}, ErrChecksum, "differs from the digest in its name"},
		{"duplicate member", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), blob(good), blob(good)}, nil)
		}, ErrFraming, "stored twice"},
		{"member missing from the manifest", func(t *testing.T) []byte {
			members := []rawMember{header(t), blob(good)}
			return buildRaw(t, append(members, blob([]byte("extra")), manifestFor(t, members, nil)))
		}, ErrManifest, "not in the manifest"},
		{"manifest entry without member", func(t *testing.T) []byte {
			members := []rawMember{header(t), blob(good)}
			mf := manifestFor(t, append(members, blob([]byte("ghost"))), nil)
			return buildRaw(t, append(members, mf))
		}, ErrManifest, "not in the archive"},
		{"stored bytes not matching pax sha256", func(t *testing.T) []byte {
			m := zblob(enc, good)
			m.pax[paxSHA256] = digestOf([]byte("x"))
			return withManifest(t, []rawMember{header(t), m}, nil)
		}, ErrChecksum, "stored bytes hash to"},
		{"header not first", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{blob(good), header(t)}, nil)
		}, ErrNotArchive, "first member"},
		{"no manifest", func(t *testing.T) []byte {
			return buildRaw(t, []rawMember{header(t), blob(good)})
		}, ErrTruncated, "without manifest.json"},
		{"member after the manifest", func(t *testing.T) []byte {
			members := []rawMember{header(t)}
			return buildRaw(t, append(members, manifestFor(t, members, nil), blob(good)))
		}, ErrFraming, "after manifest.json"},
		{"unknown required member", func(t *testing.T) []byte {
			return withManifest(t, []rawMember{header(t), {name: "indexes/x.bin", data: good}}, nil)
		}, ErrFeature, "not marked optional"},
		{"not a ferry archive", func(t *testing.T) []byte {
			h := headerJSON(t, func(m map[string]any) { m["format"] = "something-else" })
			return withManifest(t, []rawMember{{name: HeaderName, data: h}}, nil)
		}, ErrNotArchive, "something-else"},
		{"plain tar", func(t *testing.T) []byte {
			return buildRaw(t, []rawMember{{name: "readme.txt", data: good}})
		}, ErrNotArchive, "first member is readme.txt"},
		{"manifest checksum wrong", func(t *testing.T) []byte {
			members := []rawMember{header(t)}
			mf := manifestFor(t, members, nil)
			mf.data = bytes.Replace(mf.data, []byte(`"watermark":""`), []byte(`"watermark":"x"`), 1)
			return buildRaw(t, append(members, mf))
		}, ErrChecksum, "manifest checksum"},
	}
	// The content is intact, only the recorded hash of the stored bytes is
	// wrong: reading the content checks the content hash, verify both.
	verifyOnly := map[string]bool{"stored bytes not matching pax sha256": true}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectRefused(t, c.data(t), c.want, c.mention, verifyOnly[c.name]) })
	}
}

func TestNewerMajorVersionIsRefusedNamingBoth(t *testing.T) {
	h := headerJSON(t, func(m map[string]any) { m["version"] = "2.3"; m["layout"] = "different" })
	// A 2.x archive may hold anything after its header.
	data := buildRaw(t, []rawMember{{name: HeaderName, data: h}, {name: "v2/whatever", data: []byte("?")}})
	rep := verify(t, data)
	var ve *VersionError
	if rep.Intact || !errors.As(rep.Problems[0].Err(), &ve) {
		t.Fatalf("problems = %v, want a VersionError", rep.Problems)
	}
	msg := rep.Problems[0].Error
	if !strings.Contains(msg, "2.3") || !strings.Contains(msg, "1.x") || !strings.Contains(msg, "upgrade") {
		t.Errorf("message %q should name 2.3, 1.x and say to upgrade", msg)
	}
	if _, err := NewFile(bytes.NewReader(data), int64(len(data))); !errors.As(err, &ve) {
		t.Errorf("random access: %v, want a VersionError", err)
	}
}

func TestRequiredFeatureIsRefused(t *testing.T) {
	// A reader from before encryption (format 1.1) says the archive is
	// encrypted rather than handing out ciphertext.
	delete(knownFeatures, FeatureAge)
	defer func() { knownFeatures[FeatureAge] = true }()
	h := headerJSON(t, func(m map[string]any) { m["version"] = "1.4"; m["requires"] = []string{"age"} })
	data := withManifest(t, []rawMember{{name: HeaderName, data: h}}, func(m map[string]any) { m["version"] = "1.4" })
	err := readAll(data)
	if !errors.Is(err, ErrFeature) || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("err = %v, want it to say the archive is encrypted", err)
	}
	h = headerJSON(t, func(m map[string]any) { m["version"] = "1.4"; m["requires"] = []string{"dictionaries"} })
	data = withManifest(t, []rawMember{{name: HeaderName, data: h}}, func(m map[string]any) { m["version"] = "1.4" })
	if err := readAll(data); !errors.Is(err, ErrFeature) || !strings.Contains(err.Error(), `"dictionaries"`) {
		t.Fatalf("err = %v, want it to name the feature", err)
	}
}

// TestNewerMinorVersionIsRead builds a "1.7" archive with fields, a column
// and a member this reader does not know, which it must ignore.
func TestNewerMinorVersionIsRead(t *testing.T) {
	at := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	h := headerJSON(t, func(m map[string]any) { m["version"] = "1.7"; m["compression_dictionary"] = "d1" })
	seg := segmentWithExtraColumn(t, at)
	segMember := rawMember{name: segmentName(1), data: seg}
	opt := rawMember{name: "indexes/by-title.bin", data: []byte("future index")}
	members := []rawMember{{name: HeaderName, data: h}, segMember, opt}
	data := withManifest(t, members, func(m map[string]any) {
		m["version"] = "1.7"
		m["future_field"] = map[string]any{"x": 1}
		entries := m["members"].([]map[string]any)
		entries[1]["rows"], entries[1]["first_seq"], entries[1]["last_seq"] = 2, 10, 11
		entries[1]["bloom"] = "future"
		entries[2]["optional"] = true
		m["events"] = map[string]any{"count": 2, "first_seq": 10, "last_seq": 11, "by_type": map[string]int{"page.created": 2}}
	})
	if rep := verify(t, data); !rep.Intact {
		t.Fatalf("verify: %v", rep.Problems)
	}
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	checkEvents(t, f.Events(), []Event{
		{Seq: 10, Type: "page.created", Entity: "page", ID: "p1", At: at, Payload: []byte(`{"a":1}`)},
		{Seq: 11, Type: "page.created", Entity: "page", ID: "p2", Space: "S", At: at, Payload: []byte(`{}`)},
	})
}

// segmentWithExtraColumn writes a segment whose columns are in another
// order than ferry writes them, plus a column "title" ferry does not know.
func segmentWithExtraColumn(t *testing.T, at time.Time) []byte {
	fields := []arrow.Field{
		{Name: "title", Type: arrow.BinaryTypes.String},
		{Name: "payload", Type: arrow.BinaryTypes.String},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
		{Name: "type", Type: arrow.BinaryTypes.String},
		{Name: "entity", Type: arrow.BinaryTypes.String},
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "parent", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "space", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "actor", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, v := range []struct{ title, payload, id, space string }{{"A", `{"a":1}`, "p1", ""}, {"B", `{}`, "p2", "S"}} {
		b.Field(0).(*array.StringBuilder).Append(v.title)
		b.Field(1).(*array.StringBuilder).Append(v.payload)
		b.Field(2).(*array.Int64Builder).Append(int64(10 + i))
		b.Field(3).(*array.StringBuilder).Append("page.created")
		b.Field(4).(*array.StringBuilder).Append("page")
		b.Field(5).(*array.StringBuilder).Append(v.id)
		b.Field(6).(*array.StringBuilder).AppendNull()
		if v.space == "" {
			b.Field(7).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(7).(*array.StringBuilder).Append(v.space)
		}
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMilli()))
		b.Field(9).(*array.StringBuilder).AppendNull()
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(schema, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
