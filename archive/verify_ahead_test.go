package archive

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

// readsAt records the ranges read through it.
type readsAt struct {
	ra    io.ReaderAt
	mu    sync.Mutex
	reads [][2]int64
}

func (r *readsAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	r.reads = append(r.reads, [2]int64{off, off + int64(len(p))})
	r.mu.Unlock()
	return r.ra.ReadAt(p, off)
}

// read reports how many bytes of [from, to) were read.
func (r *readsAt) read(from, to int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, rg := range r.reads {
		n += max(0, min(rg[1], to)-max(rg[0], from))
	}
	return n
}

// With the file at hand, Verify checks the segments from the file, at the
// offsets the manifest gives, and reports what it reports from a stream.
func TestVerifyReadsSegmentsAhead(t *testing.T) {
	data := makeFixture(3000, 40, 7).bytes(t)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var segments []*Member
	for _, m := range f.Members() {
		if m.Kind == KindSegment {
			segments = append(segments, m)
		}
	}
	if len(segments) == 0 {
		t.Fatal("fixture has no segments")
	}
	ra := &readsAt{ra: bytes.NewReader(data)}
	rep := Verify(bytes.NewReader(data), ReadAhead(ra, int64(len(data))))
	if !rep.Intact || rep.Events != 3000 {
		t.Fatalf("report = %+v", rep)
	}
	for _, m := range segments {
		if got := ra.read(m.Offset, m.Offset+m.Size); got < m.Size {
			t.Errorf("%s: %d of its %d bytes were read from the file", m.Name, got, m.Size)
		}
	}
	verify(t, data) // and the stream's report is the same
}

// A file that is not the archive streamed is not used: the report is the
// stream's. (ReadAhead's file must hold the stream's bytes; these are the
// mistakes Verify can tell, by the file's header member.)
func TestVerifyIgnoresAnotherFile(t *testing.T) {
	fx := makeFixture(300, 4, 1)
	data := fx.bytes(t)
	h := testHeader()
	h.ArchiveID = "00000000-0000-4000-8000-000000000002"
	var other bytes.Buffer
	aw, err := NewWriter(&other, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fx.events {
		if err := aw.WriteEvent(&fx.events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{
		"another archive":               other.Bytes(),
		"a file that is not an archive": []byte("not an archive"),
		"an empty file":                 nil,
	} {
		t.Run(name, func(t *testing.T) {
			rep := Verify(bytes.NewReader(data), ReadAhead(bytes.NewReader(file), int64(len(file))))
			if !rep.Intact || rep.Events != 300 {
				t.Fatalf("report = %+v %+v", rep, rep.Problems)
			}
		})
	}
}
