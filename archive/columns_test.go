package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var testColumns = []Column{{Name: "title", Type: StringColumn}, {Name: "bytes", Type: Int64Column}}

// Producer columns are written into every segment with their values and
// nulls, listed in the manifest, and ignored by ferry's own readers.
func TestProducerColumns(t *testing.T) {
	fx := makeFixture(3000, 0, 7)
	for i := range fx.events {
		switch i % 3 {
		case 0:
			fx.events[i].Extra = []any{fmt.Sprint("title ", i), int64(i)}
		case 1:
			fx.events[i].Extra = []any{nil, int64(-i)}
		} // case 2: no values, all null
	}
	var buf bytes.Buffer
	fx.write(t, &buf, WithColumns(testColumns...))
	f, err := NewFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Manifest().Events.Columns); got != "[{title string} {bytes int64}]" {
		t.Errorf("manifest columns = %s", got)
	}
	want := make([]Event, len(fx.events))
	for i, ev := range fx.events {
		ev.Extra = nil
		want[i] = ev
	}
	checkEvents(t, f.Events(), want)

	// An independent Parquet reader sees the columns and their values.
	pf := parquetOf(t, f, f.Segments()[0])
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	titles := tbl.Column(tbl.Schema().FieldIndices("title")[0]).Data().Chunk(0).(*array.String)
	sizes := tbl.Column(tbl.Schema().FieldIndices("bytes")[0]).Data().Chunk(0).(*array.Int64)
	for i := 0; i < 6; i++ {
		switch i % 3 {
		case 0:
			if titles.Value(i) != fmt.Sprint("title ", i) || sizes.Value(i) != int64(i) {
				t.Errorf("row %d: title %q, bytes %d", i, titles.Value(i), sizes.Value(i))
			}
		case 1:
			if !titles.IsNull(i) || sizes.Value(i) != int64(-i) {
				t.Errorf("row %d: want null title and bytes %d", i, -i)
			}
		case 2:
			if !titles.IsNull(i) || !sizes.IsNull(i) {
				t.Errorf("row %d: want nulls", i)
			}
		}
	}
}

func TestProducerColumnErrors(t *testing.T) {
	for _, cols := range [][]Column{
		{{Name: "payload", Type: StringColumn}},
		{{Name: "", Type: StringColumn}},
		{{Name: "x", Type: StringColumn}, {Name: "x", Type: Int64Column}},
		{{Name: "x", Type: "float"}},
	} {
		if _, err := NewWriter(io.Discard, testHeader(), WithColumns(cols...)); err == nil || !strings.Contains(err.Error(), "producer column") {
			t.Errorf("%v: err = %v, want a producer column error", cols, err)
		}
	}
	for _, extra := range [][]any{{int64(1)}, {"a", "b"}, {"a", int64(1), nil}, {3.5}} {
		w, err := NewWriter(io.Discard, testHeader(), WithColumns(testColumns...))
		if err != nil {
			t.Fatal(err)
		}
		err = w.WriteEvent(&Event{Seq: 1, Type: "a.b", Entity: "a", ID: "1", Extra: extra})
		if err == nil || !strings.Contains(err.Error(), "seq 1") {
			t.Errorf("extra %v: err = %v, want an error naming the event", extra, err)
		}
		w.Abort()
	}
}
