package archive

import (
	"fmt"
	"io"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// eventSchema is the Arrow form of the envelope (spec §3.2).
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "type", Type: arrow.BinaryTypes.String},
	{Name: "entity", Type: arrow.BinaryTypes.String},
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "parent", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "space", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "actor", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "payload", Type: arrow.BinaryTypes.String},
}, nil)

// segmentSchema is the envelope followed by the producer's columns, which
// must have new, distinct, non-empty names and a known type.
func segmentSchema(cols []Column) (*arrow.Schema, error) {
	fields := eventSchema.Fields()
	seen := map[string]bool{}
	for _, n := range columnNames {
		seen[n] = true
	}
	for _, c := range cols {
		if c.Name == "" || seen[c.Name] {
			return nil, fmt.Errorf("archive: producer column %q: names must be non-empty and differ from the envelope's and each other", c.Name)
		}
		seen[c.Name] = true
		var t arrow.DataType
		switch c.Type {
		case StringColumn:
			t = arrow.BinaryTypes.String
		case Int64Column:
			t = arrow.PrimitiveTypes.Int64
		default:
			return nil, fmt.Errorf("archive: producer column %q: unknown type %q (want %q or %q)", c.Name, c.Type, StringColumn, Int64Column)
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: t, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// batchRows and batchBytes bound the events gathered in a batch before it
// is handed to the Parquet writer, which buffers a row group compressed.
// The Parquet writer closes a page once it passes 1 MiB, after each batch
// at the latest, so a page holds at most a batch of bytes more: with
// batches of 1 MiB (or one event), every page stays within the limits of
// spec §5.
const (
	batchRows  = 4096
	batchBytes = 1 << 20
)

// segmentWriter encodes events into one Parquet file written to out. It
// gathers a batch of events column by column, as Parquet's column writers
// take them, and hands it to those writers on another goroutine. (Going
// through Arrow arrays and pqarrow cost 5% more of export's CPU: the
// builders' copies, and level buffers that pqarrow zeroes whole after each
// column of each batch.)
type segmentWriter struct {
	fw         *file.Writer
	nullable   []bool // per column
	isInt      []bool // per column: int64s, not strings
	cur        *batch // being gathered
	batchBytes int    // its bytes, roughly
	groupRows  int64  // rows in the open row group, once cur is written
	rows       int64
	firstSeq   int64
	lastSeq    int64
	// The Parquet encoding of batches runs on another goroutine (encode)
	// while the next are gathered: batches goes to it, results comes back
	// in order, inFlight counts the batches sent and not yet answered, and
	// encodedBytes is the segment's compressed size through the last
	// batch answered. Only that goroutine touches fw until it stops.
	batches      chan *batch
	results      chan encoded
	inFlight     int
	encodedBytes int64
	stopped      bool  // batches is closed
	finishing    bool  // and encode writes the footer after the last
	flushErr     error // handing the last batch over failed
	footerErr    error // writing the footer failed; read once encode returned
}

// batch is events column by column: a column's values leave out its nulls,
// which its definition levels mark (0 null, 1 present; nil for a column
// that cannot be null).
type batch struct {
	ints     [][]int64             // per column; nil for a string column
	strs     [][]parquet.ByteArray // per column; nil for an int64 column
	defs     [][]int16             // per column; nil when not nullable
	payloads []byte                // the payloads' bytes, copied: the caller may reuse its buffer
	endGroup bool                  // the row group is full once this batch is written
}

// batchesInFlight is how many batches may be handed to the Parquet
// encoder and not yet encoded. A row group's close (compressing and
// copying every column's last pages) takes one batch far longer than the
// rest; with a single batch in flight, the events waited for it, and the
// site's reading waited for them, leaving a core idle.
const batchesInFlight = 4

// encoded is how a batch's encoding went.
type encoded struct {
	err   error
	bytes int64 // the segment's compressed bytes after it
}

// segmentLevel is the zstd level of segment pages: the fastest (see
// writerProperties).
const segmentLevel = 1

func writerProperties(schema *arrow.Schema, producer string) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		// zstd's fastest level: the Parquet encoder is what export's reader
		// waits on. At 40,000 pages segments grow 6% (31.9 to 33.9 MB, the
		// archive 0.9%) and export takes 5-8% less time.
		parquet.WithCompressionLevel(segmentLevel),
		parquet.WithMaxRowGroupLength(RowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("type", true),
		parquet.WithDictionaryFor("entity", true),
		parquet.WithDictionaryFor("space", true),
		parquet.WithDictionaryFor("actor", true),
		parquet.WithStatsFor("payload", false),
		parquet.WithCreatedBy(producer),
	}
	// Producer string columns are mostly short and repetitive (titles,
	// statuses, principals): dictionaries keep them small and fast to scan.
	for _, f := range schema.Fields()[numColumns:] {
		if f.Type.ID() == arrow.STRING {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	return parquet.NewWriterProperties(opts...)
}

// newSegmentWriter starts a segment of the given schema: the Parquet
// schema is the one pqarrow derives from it, which readers map back.
func newSegmentWriter(out io.Writer, schema *arrow.Schema, producer string) (*segmentWriter, error) {
	props := writerProperties(schema, producer)
	pq, err := pqarrow.ToParquet(schema, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("start segment: %w", err)
	}
	fw, err := file.NewParquetWriterWithError(out, pq.Root(), file.WithWriterProps(props))
	if err != nil {
		return nil, fmt.Errorf("start segment: %w", err)
	}
	s := &segmentWriter{fw: fw, batches: make(chan *batch, batchesInFlight), results: make(chan encoded, batchesInFlight)}
	for c, f := range schema.Fields() {
		s.nullable = append(s.nullable, f.Nullable)
		s.isInt = append(s.isInt, fw.Schema.Column(c).PhysicalType() == parquet.Types.Int64)
	}
	s.cur = s.newBatch()
	go s.encode()
	return s, nil
}

func (s *segmentWriter) newBatch() *batch {
	n := len(s.nullable)
	b := &batch{ints: make([][]int64, n), strs: make([][]parquet.ByteArray, n), defs: make([][]int16, n),
		payloads: make([]byte, 0, batchBytes+64<<10)}
	for c := range n {
		if s.isInt[c] {
			b.ints[c] = make([]int64, 0, batchRows)
		} else {
			b.strs[c] = make([]parquet.ByteArray, 0, batchRows)
		}
		if s.nullable[c] {
			b.defs[c] = make([]int16, 0, batchRows)
		}
	}
	return b
}

// bytesOf is s's bytes without a copy: strings never change, and the
// column writers only read their values.
func bytesOf(s string) parquet.ByteArray { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// addString appends v to string column c; "" is null where c may be null.
func (b *batch) addString(c int, v string) {
	if b.defs[c] != nil {
		if v == "" {
			b.defs[c] = append(b.defs[c], 0)
			return
		}
		b.defs[c] = append(b.defs[c], 1)
	}
	b.strs[c] = append(b.strs[c], bytesOf(v))
}

// addExtra appends a producer column's value: nil, a string or an int64.
func (b *batch) addExtra(c int, v any) {
	switch v := v.(type) {
	case nil:
		b.defs[c] = append(b.defs[c], 0)
	case string:
		b.defs[c] = append(b.defs[c], 1)
		b.strs[c] = append(b.strs[c], bytesOf(v))
	case int64:
		b.defs[c] = append(b.defs[c], 1)
		b.ints[c] = append(b.ints[c], v)
	}
}

// add appends one event; the caller has checked its seq.
func (s *segmentWriter) add(ev *Event) error {
	if err := s.checkExtra(ev); err != nil {
		return err
	}
	if err := checkSizes(ev); err != nil {
		return err
	}
	b := s.cur
	for c := numColumns; c < len(s.nullable); c++ {
		b.addExtra(c, extraValue(ev, c-numColumns))
	}
	b.ints[colSeq] = append(b.ints[colSeq], ev.Seq)
	b.addString(colType, ev.Type)
	b.addString(colEntity, ev.Entity)
	b.addString(colID, ev.ID)
	b.addString(colParent, ev.Parent)
	b.addString(colSpace, ev.Space)
	b.ints[colAt] = append(b.ints[colAt], ev.At.UnixMicro())
	b.addString(colActor, ev.Actor)
	if len(ev.Payload) == 0 {
		b.strs[colPayload] = append(b.strs[colPayload], emptyPayload)
	} else {
		// When append moves the payloads, the values taken before keep
		// pointing at the old copy, which does not change.
		off := len(b.payloads)
		b.payloads = append(b.payloads, ev.Payload...)
		b.strs[colPayload] = append(b.strs[colPayload], b.payloads[off:len(b.payloads):len(b.payloads)])
	}
	if s.rows == 0 {
		s.firstSeq = ev.Seq
	}
	s.lastSeq = ev.Seq
	s.rows++
	s.groupRows++
	s.batchBytes += eventBytes(ev)
	if s.groupRows >= RowGroupRows {
		b.endGroup = true
		s.groupRows = 0
	}
	if s.gathered() >= batchRows || s.batchBytes >= batchBytes || b.endGroup {
		return s.flush()
	}
	return nil
}

var emptyPayload = parquet.ByteArray("{}")

// checkSizes refuses an event with a value over the limits readers
// enforce (spec §5), before anything is appended.
func checkSizes(ev *Event) error {
	if len(ev.Payload) > maxPayloadValue {
		return fmt.Errorf("archive: event seq %d (%s %s): %w: a payload of %d bytes (limit %d)", ev.Seq, ev.Type, ev.ID, ErrTooLarge, len(ev.Payload), maxPayloadValue)
	}
	for i, v := range []string{ev.Type, ev.Entity, ev.ID, ev.Parent, ev.Space, ev.Actor} {
		if len(v) > maxValue {
			return fmt.Errorf("archive: event seq %d (%s): %w: %s of %d bytes (limit %d)", ev.Seq, ev.Type, ErrTooLarge, columnNames[[]int{colType, colEntity, colID, colParent, colSpace, colActor}[i]], len(v), maxValue)
		}
	}
	for i, v := range ev.Extra {
		if str, ok := v.(string); ok && len(str) > maxValue {
			return fmt.Errorf("archive: event seq %d (%s %s): %w: producer column %d of %d bytes (limit %d)", ev.Seq, ev.Type, ev.ID, ErrTooLarge, i, len(str), maxValue)
		}
	}
	return nil
}

// eventBytes is roughly what an event adds to a row group's pages.
func eventBytes(ev *Event) int {
	n := 16 + len(ev.Type) + len(ev.Entity) + len(ev.ID) + len(ev.Parent) + len(ev.Space) + len(ev.Actor) + len(ev.Payload)
	for _, v := range ev.Extra {
		if str, ok := v.(string); ok {
			n += len(str)
		}
	}
	return n
}

func extraValue(ev *Event, i int) any {
	if i < len(ev.Extra) {
		return ev.Extra[i]
	}
	return nil
}

// checkExtra checks an event's producer column values against the schema
// before anything is appended, so a bad event leaves the batch aligned.
func (s *segmentWriter) checkExtra(ev *Event) error {
	if extra := len(s.nullable) - numColumns; len(ev.Extra) > extra {
		return fmt.Errorf("archive: event seq %d has %d producer column values, the writer declares %d", ev.Seq, len(ev.Extra), extra)
	}
	for i, v := range ev.Extra {
		isString := !s.isInt[numColumns+i]
		switch v.(type) {
		case nil:
		case string:
			if !isString {
				return fmt.Errorf("archive: event seq %d: producer column %d is int64, got a string", ev.Seq, i)
			}
		case int64:
			if isString {
				return fmt.Errorf("archive: event seq %d: producer column %d is a string, got an int64", ev.Seq, i)
			}
		default:
			return fmt.Errorf("archive: event seq %d: producer column %d holds %T, want a string, an int64 or nil", ev.Seq, i, v)
		}
	}
	return nil
}

// gathered is how many events the batch being gathered holds.
func (s *segmentWriter) gathered() int { return len(s.cur.ints[colSeq]) }

// flush hands the gathered batch to the Parquet encoder, and when
// batchesInFlight are out, waits for the oldest.
func (s *segmentWriter) flush() error {
	if s.gathered() == 0 {
		return nil
	}
	b := s.cur
	s.cur = s.newBatch()
	s.batchBytes = 0
	s.batches <- b // never blocks: fewer than batchesInFlight are out
	s.inFlight++
	if s.inFlight < batchesInFlight {
		return nil
	}
	return s.receive()
}

// encode writes the batches it is handed to the Parquet file, in order,
// closing the row group after a batch that fills it or when its
// compressed size reached the limit. After a failure it only answers each
// batch with the failure.
func (s *segmentWriter) encode() {
	defer close(s.results)
	var (
		err error
		rgw file.BufferedRowGroupWriter
	)
	for b := range s.batches {
		if err == nil {
			if rgw == nil {
				rgw, err = s.fw.AppendBufferedRowGroupChecked()
			}
			if err == nil {
				err = writeBatch(rgw, b)
			}
			if err == nil && (b.endGroup || rgw.TotalCompressedBytes() >= rowGroupMaxBytes) {
				err, rgw = rgw.Close(), nil
			}
			if err != nil {
				err = fmt.Errorf("write segment: %w", err)
			}
		}
		s.results <- encoded{err: err, bytes: s.fw.TotalCompressedBytes()}
	}
	if s.finishing && err == nil {
		if err := s.fw.Close(); err != nil {
			s.footerErr = fmt.Errorf("finish segment: %w", err)
		}
	}
}

// writeBatch writes a batch's columns to the open row group.
func writeBatch(rgw file.BufferedRowGroupWriter, b *batch) error {
	for c := range b.ints {
		cw, err := rgw.Column(c)
		if err != nil {
			return err
		}
		switch cw := cw.(type) {
		case *file.Int64ColumnChunkWriter:
			_, err = cw.WriteBatch(b.ints[c], b.defs[c], nil)
		case *file.ByteArrayColumnChunkWriter:
			_, err = cw.WriteBatch(b.strs[c], b.defs[c], nil)
		default:
			err = fmt.Errorf("column %d: unexpected %T", c, cw)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// receive waits for the oldest batch out and says how its encoding went.
func (s *segmentWriter) receive() error {
	e := <-s.results
	s.inFlight--
	s.encodedBytes = e.bytes
	return e.err
}

// wait stops the encoder once every batch out is encoded, and says how
// that went. The file is then the caller's.
func (s *segmentWriter) wait() error {
	var err error
	for s.inFlight > 0 {
		if e := s.receive(); err == nil {
			err = e
		}
	}
	if !s.stopped {
		s.stopped = true
		close(s.batches)
	}
	for range s.results { // until encode returns
	}
	return err
}

// full reports whether the segment should be closed: by its rows, or by
// its compressed size through the last batch answered (each flush answers
// the batch batchesInFlight-1 before it), which is the same for the same
// events whatever the timing.
func (s *segmentWriter) full() bool {
	return s.rows >= segmentRowGroups*RowGroupRows || s.encodedBytes >= segmentMaxBytes
}

// finish hands the last batch to the encoder, which writes the footer
// once every batch is encoded, while the caller goes on: a segment's last
// row group is most of the work left at the end of an export, and the
// blobs still to add can use the other core meanwhile. close waits for it.
func (s *segmentWriter) finish() {
	if s.stopped {
		return
	}
	s.flushErr = s.flush()
	s.finishing, s.stopped = true, true
	close(s.batches)
}

// close finishes the Parquet file and waits until it is written.
func (s *segmentWriter) close() error {
	s.finish()
	err := s.wait()
	for _, e := range []error{s.flushErr, s.footerErr} {
		if err == nil {
			err = e
		}
	}
	return err
}

// microTime converts a stored timestamp back to a UTC time.
func microTime(t arrow.Timestamp) time.Time { return time.UnixMicro(int64(t)).UTC() }
