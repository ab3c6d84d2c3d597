package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixture is the content of a test archive: events and blobs.
type fixture struct {
	events []Event
	blobs  [][]byte
}

func testHeader() Header {
	return Header{
		ArchiveID: "00000000-0000-4000-8000-000000000001",
		Producer:  Producer{Name: "ferry", Version: "test"},
		Created:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Source:    Source{Kind: "embedded", Location: "test.db", SiteID: "site-1"},
	}
}

// makeFixture builds n events of a few types, with nullable fields left
// empty now and then, and blobs of which some repeat and some do not compress.
func makeFixture(n, nblobs int, seed int64) fixture {
	rng := rand.New(rand.NewSource(seed))
	types := []string{"user.created", "space.created", "page.version", "comment.version", "attachment.version"}
	var fx fixture
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := int64(0)
	for i := 0; i < n; i++ {
		seq += 1 + int64(rng.Intn(3))
		at = at.Add(time.Duration(rng.Intn(1e6)) * time.Microsecond)
		t := types[rng.Intn(len(types))]
		ev := Event{
			Seq: seq, Type: t, Entity: t[:bytes.IndexByte([]byte(t), '.')], ID: fmt.Sprint(rng.Intn(n/2 + 1)),
			At: at, Payload: []byte(fmt.Sprintf(`{"title":"page %d","body":"%s"}`, i, bytes.Repeat([]byte("lorem ipsum "), rng.Intn(20)))),
		}
		if rng.Intn(3) > 0 {
			ev.Parent = fmt.Sprint(rng.Intn(100))
		}
		if rng.Intn(4) > 0 {
			ev.Space = fmt.Sprintf("SP%d", rng.Intn(5))
		}
		if rng.Intn(5) > 0 {
			ev.Actor = fmt.Sprintf("user-%d", rng.Intn(10))
		}
		fx.events = append(fx.events, ev)
	}
	for i := 0; i < nblobs; i++ {
		var b []byte
		switch i % 3 {
		case 0: // compressible
			b = bytes.Repeat([]byte(fmt.Sprintf("attachment %d ", i)), 100+rng.Intn(1000))
		case 1: // incompressible
			b = make([]byte, 100+rng.Intn(5000))
			rng.Read(b)
		case 2: // a repeat
			b = fx.blobs[i-2]
		}
		fx.blobs = append(fx.blobs, b)
	}
	return fx
}

// write writes fx as an archive: blobs interleaved with events.
func (fx fixture) write(t testing.TB, w io.Writer, opts ...Option) {
	t.Helper()
	aw, err := NewWriter(w, testHeader(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fx.events {
		if i < len(fx.blobs) {
			if _, _, err := aw.AddBlob(bytes.NewReader(fx.blobs[i])); err != nil {
				t.Fatal(err)
			}
		}
		if err := aw.WriteEvent(&fx.events[i]); err != nil {
			t.Fatal(err)
		}
	}
	aw.SetWatermark("wm-42")
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
}

func (fx fixture) bytes(t testing.TB) []byte {
	var buf bytes.Buffer
	fx.write(t, &buf)
	return buf.Bytes()
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkEvents compares the events read with those written.
func checkEvents(t *testing.T, it *Events, want []Event) {
	t.Helper()
	defer it.Close()
	i := 0
	for it.Next() {
		got := *it.Event()
		if i >= len(want) {
			t.Fatalf("more events than written: %+v", got)
		}
		w := want[i]
		w.At = w.At.UTC().Truncate(time.Microsecond)
		if len(w.Payload) == 0 {
			w.Payload = []byte("{}")
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
		i++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Fatalf("read %d events, wrote %d", i, len(want))
	}
}

func TestRoundTripRandomAccess(t *testing.T) {
	fx := makeFixture(3000, 30, 1)
	data := fx.bytes(t)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Header(); got.ArchiveID != testHeader().ArchiveID || got.Version != Version || got.Source != testHeader().Source {
		t.Errorf("header = %+v", got)
	}
	m := f.Manifest()
	if m.Events.Count != 3000 || m.Watermark != "wm-42" || m.Events.FirstSeq != fx.events[0].Seq || m.Events.LastSeq != fx.events[2999].Seq {
		t.Errorf("manifest events = %+v, watermark %q", m.Events, m.Watermark)
	}
	if m.Blobs.Count != 20 { // every third blob repeats an earlier one
		t.Errorf("manifest counts %d blobs, want 20", m.Blobs.Count)
	}
	checkEvents(t, f.Events(), fx.events)
	// Blobs in reverse order: random access, not a sequential pass.
	for i := len(fx.blobs) - 1; i >= 0; i-- {
		r, err := f.OpenBlob(digestOf(fx.blobs[i]))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, fx.blobs[i]) {
			t.Fatalf("blob %d: err %v, equal %v", i, err, bytes.Equal(got, fx.blobs[i]))
		}
	}
}

func TestRoundTripStream(t *testing.T) {
	fx := makeFixture(3000, 30, 2)
	data := fx.bytes(t)
	// A reader that hides Seek and ReadAt: a pipe.
	rd, err := NewReader(struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	blobs := map[string][]byte{}
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch m.Kind {
		case KindSegment:
			it, err := rd.Events()
			if err != nil {
				t.Fatal(err)
			}
			for it.Next() {
				events = append(events, *it.Event())
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			it.Close()
		case KindBlob:
			r, err := rd.Blob()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			blobs[m.Digest] = b
		}
	}
	if rd.Manifest() == nil || rd.Manifest().Events.Count != int64(len(fx.events)) {
		t.Fatalf("manifest = %+v", rd.Manifest())
	}
	if len(events) != len(fx.events) {
		t.Fatalf("read %d events, wrote %d", len(events), len(fx.events))
	}
	for i := range events {
		if events[i].Seq != fx.events[i].Seq || string(events[i].Payload) != string(fx.events[i].Payload) {
			t.Fatalf("event %d differs", i)
		}
	}
	for _, b := range fx.blobs {
		if !bytes.Equal(blobs[digestOf(b)], b) {
			t.Fatalf("blob %s missing or different", digestOf(b))
		}
	}
	if len(blobs) != 20 {
		t.Errorf("stream held %d blobs, want 20 distinct", len(blobs))
	}
}

func TestVerifyIntact(t *testing.T) {
	data := makeFixture(500, 10, 3).bytes(t)
	rep := verify(t, data)
	if !rep.Intact || rep.Events != 500 || rep.Blobs != 7 || rep.Bytes != int64(len(data)) {
		t.Fatalf("report = %+v", rep)
	}
}

func TestWriterRejectsBadSeq(t *testing.T) {
	aw, err := NewWriter(io.Discard, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Seq: 5, Type: "a.b", Entity: "a", ID: "1", At: time.Now()}
	if err := aw.WriteEvent(&ev); err != nil {
		t.Fatal(err)
	}
	ev.Seq = 5
	if err := aw.WriteEvent(&ev); err == nil {
		t.Fatal("a repeated seq was accepted")
	}
}

func TestEmptyArchive(t *testing.T) {
	var buf bytes.Buffer
	aw, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, buf.Bytes()); !rep.Intact {
		t.Fatalf("empty archive: %+v", rep.Problems)
	}
}

var _ = errors.Is

// TestSegmentsAreSpreadAmongBlobs writes a site's worth of events with a
// blob after each: a segment closes every two row groups, in the middle
// of the archive, so verify checks it alongside the blobs after it.
func TestSegmentsAreSpreadAmongBlobs(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	const n = 300_000
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		if i%50_000 == 0 {
			if _, _, err := w.AddBlob(strings.NewReader(fmt.Sprintf("attachment %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteEvent(&Event{Seq: int64(i), Type: "page.version", Entity: "page", ID: fmt.Sprint(i), At: at}); err != nil {
			t.Fatal(err)
		}
	}
	f := closeAndOpen(t, w, &buf)
	// Blobs come at events 50,000, 100,000 ... 300,000; the first segment
	// closes at event 245,760.
	want := "header blob blob blob blob segment blob blob segment"
	if got := memberKinds(f); got != want {
		t.Errorf("members in order: %s\nwant %s", got, want)
	}
}

// verify runs Verify over data twice: as a stream, and as a file it may
// read ahead (ReadAhead). The two must report the same; it returns the
// stream's report.
func verify(t testing.TB, data []byte, opts ...ReadOption) *Report {
	t.Helper()
	rep := Verify(bytes.NewReader(data), opts...)
	ahead := Verify(bytes.NewReader(data), append(opts, ReadAhead(bytes.NewReader(data), int64(len(data))))...)
	a, _ := json.Marshal(rep)
	b, _ := json.Marshal(ahead)
	if !bytes.Equal(a, b) {
		t.Fatalf("Verify of a stream and Verify reading ahead disagree:\nstream %s\nahead  %s", a, b)
	}
	return rep
}
