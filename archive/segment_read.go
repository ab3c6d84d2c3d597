package archive

import (
	"context"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readBatchRows bounds how many events are decoded at once.
const readBatchRows = 8192

// stringColumn is what *array.String and *array.LargeString share.
type stringColumn interface {
	arrow.Array
	Value(int) string
}

// segmentReader decodes the events of one Parquet segment in batches.
type segmentReader struct {
	name  string
	pf    *file.Reader
	rr    pqarrow.RecordReader
	rec   arrow.RecordBatch
	row   int
	seq   *array.Int64
	at    *array.Timestamp
	unit  arrow.TimeUnit
	strs  [numColumns]stringColumn
	rows  int64  // rows in the segment, from its footer
	arena []byte // see str
}

// openSegment checks a segment's footer and prepares to read its envelope
// columns. Columns it does not know are not read.
func openSegment(name string, r parquet.ReaderAtSeeker) (s *segmentReader, err error) {
	defer recoverCorrupt(name, &err)
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	pf, err := file.NewParquetReader(r, file.WithReadProps(props))
	if err != nil {
		return nil, errorf(name, -1, ErrCorrupt, "not a readable Parquet file: %v", err)
	}
	md := pf.MetaData()
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				pf.Close()
				return nil, errorf(name, -1, ErrCorrupt, "row group %d: %v", i, err)
			}
			if cc.TotalUncompressedSize() > maxColumnChunk || cc.TotalUncompressedSize() < 0 {
				pf.Close()
				return nil, errorf(name, -1, ErrTooLarge, "row group %d column %d declares %d bytes uncompressed (limit %d)", i, c, cc.TotalUncompressedSize(), int64(maxColumnChunk))
			}
		}
	}
	indices := make([]int, 0, numColumns)
	for c, col := range columnNames {
		idx := md.Schema.ColumnIndexByName(col)
		if idx < 0 {
			pf.Close()
			return nil, errorf(name, -1, ErrCorrupt, "segment has no %q column", columnNames[c])
		}
		indices = append(indices, idx)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows, PreAllocBinaryData: true, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, errorf(name, -1, ErrCorrupt, "read schema: %v", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), indices, nil)
	if err != nil {
		pf.Close()
		return nil, errorf(name, -1, ErrCorrupt, "read columns: %v", err)
	}
	return &segmentReader{name: name, pf: pf, rr: rr, rows: md.NumRows}, nil
}

// bind takes the typed columns of a freshly read batch.
func (s *segmentReader) bind(rec arrow.RecordBatch) error {
	sc := rec.Schema()
	for c, col := range columnNames {
		idx := sc.FieldIndices(col)
		if len(idx) != 1 {
			return errorf(s.name, -1, ErrCorrupt, "column %q appears %d times", col, len(idx))
		}
		arr := rec.Column(idx[0])
		var ok bool
		switch c {
		case colSeq:
			s.seq, ok = arr.(*array.Int64)
		case colAt:
			s.at, ok = arr.(*array.Timestamp)
			if ok {
				s.unit = arr.DataType().(*arrow.TimestampType).Unit
			}
		default:
			s.strs[c], ok = arr.(stringColumn)
		}
		if !ok {
			return errorf(s.name, -1, ErrCorrupt, "column %q has type %s", col, arr.DataType())
		}
	}
	return nil
}

// next decodes the next event into ev; it returns false at the end.
func (s *segmentReader) next(ev *Event) (ok bool, err error) {
	defer recoverCorrupt(s.name, &err)
	for s.rec == nil || s.row >= int(s.rec.NumRows()) {
		if !s.rr.Next() {
			if err := s.rr.Err(); err != nil {
				return false, errorf(s.name, -1, ErrCorrupt, "decode: %v", err)
			}
			return false, nil
		}
		s.rec = s.rr.RecordBatch()
		s.row = 0
		if err := s.bind(s.rec); err != nil {
			return false, err
		}
	}
	i := s.row
	s.row++
	for _, c := range []int{colSeq, colType, colEntity, colID, colAt, colPayload} {
		var null bool
		switch c {
		case colSeq:
			null = s.seq.IsNull(i)
		case colAt:
			null = s.at.IsNull(i)
		default:
			null = s.strs[c].IsNull(i)
		}
		if null {
			return false, errorf(s.name, -1, ErrCorrupt, "row %d: %s is null", i, columnNames[c])
		}
	}
	*ev = Event{
		Seq:     s.seq.Value(i),
		Type:    s.strs[colType].Value(i),
		Entity:  s.strs[colEntity].Value(i),
		ID:      s.strs[colID].Value(i),
		Parent:  s.strs[colParent].Value(i),
		Space:   s.strs[colSpace].Value(i),
		At:      s.at.Value(i).ToTime(s.unit).UTC(),
		Actor:   s.strs[colActor].Value(i),
		Payload: []byte(s.strs[colPayload].Value(i)),
	}
	// Values point into Arrow buffers that the next batch reuses: copy them.
	ev.Type, ev.Entity, ev.ID = s.str(ev.Type), s.str(ev.Entity), s.str(ev.ID)
	ev.Parent, ev.Space, ev.Actor = s.str(ev.Parent), s.str(ev.Space), s.str(ev.Actor)
	return true, nil
}

// arenaSize is the block the envelope's strings are copied into: one
// allocation for many small strings instead of one each.
const arenaSize = 64 << 10

// str returns a copy of v that shares no Arrow buffer. Copies live in
// arena blocks that are never written again once a string points into them.
func (s *segmentReader) str(v string) string {
	if v == "" {
		return ""
	}
	if cap(s.arena)-len(s.arena) < len(v) {
		s.arena = make([]byte, 0, max(arenaSize, len(v)))
	}
	off := len(s.arena)
	s.arena = append(s.arena, v...)
	return unsafe.String(&s.arena[off], len(v))
}

func (s *segmentReader) close() error {
	if s.rr != nil {
		s.rr.Release()
	}
	return s.pf.Close()
}

// recoverCorrupt turns a panic inside the Parquet decoder, which hostile
// input can cause, into an error naming the member.
func recoverCorrupt(name string, err *error) {
	if r := recover(); r != nil {
		*err = errorf(name, -1, ErrCorrupt, "undecodable Parquet: %v", r)
	}
}
