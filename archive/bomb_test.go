package archive

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"ferry/internal/hostile"

	"github.com/klauspost/compress/zstd"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func repeated(n int) func(int64) []byte {
	b := bytes.Repeat([]byte("a"), n)
	return func(int64) []byte { return b }
}

// Segments that store little and decode to a great deal are refused by
// both readers, naming the limit, without the reader allocating what they
// declare. (Before the fix a 194 KB segment of 4 row groups x 4 payloads
// of 100 MB made verify peak at 3.1 GB; here the same shape at 20 MiB.)
func TestDecodingBombsAreRefusedWithinMemory(t *testing.T) {
	cases := []struct {
		name     string
		seg      hostile.Segment
		mention  string
		maxAlloc uint64
	}{
		// Every row group's payloads in one page of 80 MiB: the page is
		// over its limit, refused before it is decompressed.
		{"row-group bomb", hostile.Segment{RowGroups: 4, Rows: 4, Type: "page.version", Payload: repeated(20 << 20)}, "declares", 16 << 20},
		// A page within the limit holding one value over its limit.
		{"one huge payload", hostile.Segment{RowGroups: 2, Rows: 1, Type: "page.version", Payload: repeated(maxPayloadValue + 1)}, "payload of", 3 * maxPayloadPage},
		// One 1 MiB dictionary entry, the type of every row: 300 MiB
		// for a reader that materializes rows.
		{"dictionary bomb", hostile.Segment{RowGroups: 1, Rows: 300, Type: strings.Repeat("t", 1<<20), Payload: repeated(2), Dictionary: true}, "dictionary entry 0 is 1048576 bytes", 16 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := hostile.Archive([]hostile.Segment{c.seg})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("archive of %d bytes", len(data))
			var rep *Report
			n := allocated(func() { rep = Verify(bytes.NewReader(data)) })
			if rep.Intact || !errors.Is(rep.Problems[0].Err(), ErrTooLarge) || !strings.Contains(rep.Problems[0].Error, c.mention) ||
				rep.Problems[0].Member != "events/00000001.parquet" {
				t.Errorf("verify: %+v, want the segment refused as over a limit, saying %q", rep.Problems, c.mention)
			}
			if n > c.maxAlloc {
				t.Errorf("verify allocated %d MiB, want at most %d", n>>20, c.maxAlloc>>20)
			}
			var rerr error
			n = allocated(func() { rerr = readAll(data) })
			if !errors.Is(rerr, ErrTooLarge) {
				t.Errorf("random access: %v, want ErrTooLarge", rerr)
			}
			if n > c.maxAlloc {
				t.Errorf("random access allocated %d MiB, want at most %d", n>>20, c.maxAlloc>>20)
			}
		})
	}
}

// The limits leave room for what ferry writes: a payload at the limit
// reads back, one past it is refused by the writer, naming the event.
func TestWriterKeepsWithinTheLimits(t *testing.T) {
	big := bytes.Repeat([]byte("b"), maxPayloadValue)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	events := []Event{{Seq: 1, Type: "page.version", Entity: "page", ID: "p1", Payload: big}}
	for i := 2; i < 3000; i++ { // enough small events around it to share its pages
		events = append(events, Event{Seq: int64(i), Type: "page.version", Entity: "page", ID: "p", Payload: []byte(`{"b":"` + strings.Repeat("x", 900) + `"}`)})
	}
	for i := range events {
		if err := w.WriteEvent(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, buf.Bytes()); !rep.Intact {
		t.Fatalf("a payload at the limit: %v", rep.Problems)
	}
	w, _ = NewWriter(&bytes.Buffer{}, testHeader())
	err = w.WriteEvent(&Event{Seq: 1, Type: "page.version", Entity: "page", ID: "p9", Payload: append(big, 'x')})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "p9") {
		t.Errorf("a payload past the limit: %v, want ErrTooLarge naming the event", err)
	}
}

// A zstd page decompresses no further than the largest page a segment may
// hold, whatever its frame says.
func TestPageDecompressionIsBounded(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 4*maxPayloadPage), nil)
	codec := newBoundedZstd()
	var err error
	n := allocated(func() { _, err = codec.DecodeWithError(make([]byte, 0, 1024), bomb) })
	if err == nil {
		t.Fatal("a frame of 4 times the page limit decoded")
	}
	if n > 2*maxPayloadPage {
		t.Errorf("decoding allocated %d MiB", n>>20)
	}
}

// Two trailer/signature.json members (a second signature appended to a
// signed archive) are damage to every reader: before, verify checked the
// last and import the first.
func TestDuplicateTrailersAreDamage(t *testing.T) {
	fx := makeFixture(20, 1, 3)
	var signed bytes.Buffer
	_, key, _ := ed25519.GenerateKey(nil)
	fx.write(t, &signed, WithSigner(key, "source admin"))
	_, other, _ := ed25519.GenerateKey(nil)
	var second bytes.Buffer
	fx.write(t, &second, WithSigner(other, "someone else"))
	f, err := NewFile(bytes.NewReader(second.Bytes()), int64(second.Len()))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := io.ReadAll(f.raw(f.trailers[0]))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"the same signature twice": nil, "another key's signature after it": sig} {
		t.Run(name, func(t *testing.T) {
			extra := data
			if extra == nil {
				f, _ := NewFile(bytes.NewReader(signed.Bytes()), int64(signed.Len()))
				extra, _ = io.ReadAll(f.raw(f.trailers[0]))
				f.Close()
			}
			twice, err := hostile.AppendTrailer(signed.Bytes(), hostile.Member{Name: SignatureName, Data: extra})
			if err != nil {
				t.Fatal(err)
			}
			expectRefused(t, twice, ErrFraming, "a second member named "+SignatureName, false)
			if _, err := NewReader(bytes.NewReader(twice)); err != nil {
				t.Fatal(err) // the header is fine: the stream fails at the trailer
			}
		})
	}
}
