package archive

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// A segment holds row groups of RowGroupRows events, two at most, and the
// events read back as written, even when the caller writes every payload
// from one buffer it reuses.
func TestSegmentRowGroupsAndReusedPayloads(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*RowGroupRows + 5
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := make([]byte, 0, 64)
	event := func(i int) Event {
		ev := Event{Seq: int64(i), Type: "page.version", Entity: "page", ID: fmt.Sprint("p", i%1000), At: at.Add(time.Duration(i) * time.Second)}
		if i%3 == 0 {
			ev.Space, ev.Actor = "ENG", fmt.Sprint("u", i%7)
		}
		if i%5 != 0 {
			ev.Payload = fmt.Appendf(payload[:0], `{"n":%d}`, i)
		}
		return ev
	}
	for i := 1; i <= n; i++ {
		ev := event(i)
		if err := w.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
	}
	f := closeAndOpen(t, w, &buf)
	var groups [][]int64
	for _, seg := range f.Segments() {
		pf := parquetOf(t, f, seg)
		var rows []int64
		for g := range pf.NumRowGroups() {
			rows = append(rows, pf.MetaData().RowGroup(g).NumRows())
		}
		groups = append(groups, rows)
	}
	if got, want := fmt.Sprint(groups), fmt.Sprintf("[[%d %d] [5]]", RowGroupRows, RowGroupRows); got != want {
		t.Errorf("rows per row group, per segment: %s, want %s", got, want)
	}
	want := make([]Event, n)
	for i := range want {
		want[i] = event(i + 1)
		if want[i].Payload == nil {
			want[i].Payload = []byte("{}")
		} else {
			want[i].Payload = bytes.Clone(want[i].Payload)
		}
	}
	checkEvents(t, f.Events(), want)
}

// After EndEvents, blobs still go in, the segment is written at Close,
// and a further event is refused.
func TestEndEvents(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []Event{{Seq: 1, Type: "page.version", Entity: "page", ID: "p1", At: at, Payload: []byte(`{"n":1}`)}}
	if err := w.WriteEvent(&want[0]); err != nil {
		t.Fatal(err)
	}
	w.EndEvents()
	if err := w.WriteEvent(&Event{Seq: 2, Type: "page.version", Entity: "page", ID: "p1", At: at}); err == nil || !strings.Contains(err.Error(), "after EndEvents") {
		t.Errorf("an event after EndEvents: %v, want it refused", err)
	}
	if _, _, err := w.AddBlob(strings.NewReader("an attachment")); err != nil {
		t.Fatal(err)
	}
	f := closeAndOpen(t, w, &buf)
	if rep := verify(t, buf.Bytes()); !rep.Intact {
		t.Fatalf("verify: %v", rep.Problems)
	}
	if got := memberKinds(f); got != "header blob segment" {
		t.Errorf("members: %s, want header blob segment", got)
	}
	checkEvents(t, f.Events(), want)
}

// closeAndOpen closes w, which wrote to buf, and opens the archive.
func closeAndOpen(t *testing.T, w *Writer, buf *bytes.Buffer) *File {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// parquetOf opens a segment member with an independent Parquet reader.
func parquetOf(t *testing.T, f *File, seg *Member) *file.Reader {
	t.Helper()
	r, err := f.OpenMember(seg.Name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// memberKinds lists the kinds of an archive's members in their order.
func memberKinds(f *File) string {
	var kinds []string
	for _, m := range f.Members() {
		kinds = append(kinds, m.Kind.String())
	}
	return strings.Join(kinds, " ")
}
