package archive

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// A segment is decoded a column chunk at a time with Parquet's column
// readers, never into Arrow batches: values are read in windows that point
// into the current page (or its dictionary), and each value is copied out
// on its own, checked against its limit. So a reader holds a page per
// column and one event, whatever a segment declares: a row group of huge
// payloads, or a dictionary entry repeated in every row, cannot make it
// materialize more. checkSegment has bounded the pages before this runs.

// window is how many values a column reader decodes at once (their
// headers only: the bytes stay in the page).
const window = 1024

func readProps() *parquet.ReaderProperties {
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.MaxUncompressedPageSize = maxPayloadPage
	props.MaxCompressedPageSize = maxPayloadPage
	return props
}

// segmentReader decodes the events of one Parquet segment.
type segmentReader struct {
	name   string
	pf     *file.Reader
	leaf   [numColumns]int // each envelope column's index in the file
	toTime func(int64) time.Time
	rg     int   // the next row group
	left   int64 // rows left in the current one
	row    int64 // rows decoded so far
	cols   [numColumns]cursor
	rows   int64  // rows in the segment, from its footer
	arena  []byte // see str
}

// openSegment checks a segment (checkSegment) and prepares to read its
// envelope columns. Columns it does not know are not read.
func openSegment(name string, r parquet.ReaderAtSeeker) (s *segmentReader, err error) {
	defer recoverCorrupt(name, &err)
	pf, err := file.NewParquetReader(r, file.WithReadProps(readProps()))
	if err != nil {
		return nil, errorf(name, -1, ErrCorrupt, "not a readable Parquet file: %v", err)
	}
	s = &segmentReader{name: name, pf: pf, rows: pf.MetaData().NumRows}
	if err := s.init(r); err != nil {
		pf.Close()
		return nil, err
	}
	return s, nil
}

func (s *segmentReader) init(r parquet.ReaderAtSeeker) error {
	if err := checkSegment(s.name, s.pf, r); err != nil {
		return err
	}
	sc := s.pf.MetaData().Schema
	for c, col := range columnNames {
		idx := sc.ColumnIndexByName(col)
		if idx < 0 {
			return errorf(s.name, -1, ErrCorrupt, "segment has no %q column", col)
		}
		s.leaf[c] = idx
		want := parquet.Types.ByteArray
		if c == colSeq || c == colAt {
			want = parquet.Types.Int64
		}
		if got := sc.Column(idx).PhysicalType(); got != want {
			return errorf(s.name, -1, ErrCorrupt, "column %q has type %s, want %s", col, got, want)
		}
	}
	var err error
	s.toTime, err = timeUnit(sc.Column(s.leaf[colAt]))
	if err != nil {
		return errorf(s.name, -1, ErrCorrupt, "column %q: %v", columnNames[colAt], err)
	}
	return nil
}

// timeUnit converts the at column's values to times, by its logical type.
func timeUnit(col *schema.Column) (func(int64) time.Time, error) {
	var unit schema.TimeUnitType = schema.TimeUnitUnknown
	if ts, ok := col.LogicalType().(*schema.TimestampLogicalType); ok {
		unit = ts.TimeUnit()
	} else {
		switch col.ConvertedType() {
		case schema.ConvertedTypes.TimestampMillis:
			unit = schema.TimeUnitMillis
		case schema.ConvertedTypes.TimestampMicros:
			unit = schema.TimeUnitMicros
		}
	}
	switch unit {
	case schema.TimeUnitMillis:
		return func(v int64) time.Time { return time.UnixMilli(v).UTC() }, nil
	case schema.TimeUnitMicros:
		return func(v int64) time.Time { return time.UnixMicro(v).UTC() }, nil
	case schema.TimeUnitNanos:
		return func(v int64) time.Time { return time.Unix(0, v).UTC() }, nil
	}
	return nil, fmt.Errorf("not a timestamp (%s)", col.LogicalType())
}

// nextRowGroup opens the column readers of the next row group; false at
// the end of the segment.
func (s *segmentReader) nextRowGroup() (bool, error) {
	if s.rg >= s.pf.NumRowGroups() {
		return false, nil
	}
	rg := s.pf.RowGroup(s.rg)
	s.rg++
	s.left = rg.NumRows()
	for c := range columnNames {
		cr, err := rg.Column(s.leaf[c])
		if err != nil {
			return false, errorf(s.name, -1, ErrCorrupt, "row group %d column %q: %v", s.rg-1, columnNames[c], err)
		}
		s.cols[c].reset(cr)
	}
	return true, nil
}

// next decodes the next event into ev; it returns false at the end.
func (s *segmentReader) next(ev *Event) (ok bool, err error) {
	defer recoverCorrupt(s.name, &err)
	for s.left == 0 {
		if ok, err := s.nextRowGroup(); !ok || err != nil {
			return false, err
		}
	}
	s.left--
	row := s.row
	s.row++
	var strs [numColumns][]byte
	var ints [numColumns]int64
	for c := range columnNames {
		cur := &s.cols[c]
		var null bool
		var err error
		if cur.ints != nil {
			ints[c], null, err = cur.nextInt()
		} else {
			strs[c], null, err = cur.nextBytes()
		}
		if err != nil {
			return false, errorf(s.name, -1, ErrCorrupt, "row %d column %q: %v", row, columnNames[c], err)
		}
		if null && c != colParent && c != colSpace && c != colActor {
			return false, errorf(s.name, -1, ErrCorrupt, "row %d: %s is null", row, columnNames[c])
		}
		if limit := valueLimitOf(columnNames[c]); len(strs[c]) > limit {
			return false, errorf(s.name, -1, ErrTooLarge, "row %d: a %s of %d bytes (limit %d)", row, columnNames[c], len(strs[c]), limit)
		}
	}
	// Values point into pages that the next window reuses: copy them.
	*ev = Event{
		Seq:     ints[colSeq],
		Type:    s.str(strs[colType]),
		Entity:  s.str(strs[colEntity]),
		ID:      s.str(strs[colID]),
		Parent:  s.str(strs[colParent]),
		Space:   s.str(strs[colSpace]),
		At:      s.toTime(ints[colAt]),
		Actor:   s.str(strs[colActor]),
		Payload: append([]byte(nil), strs[colPayload]...),
	}
	return true, nil
}

// cursor hands out one column's values a row at a time from a window of
// decoded values, which point into the column reader's current page until
// the next window is decoded.
type cursor struct {
	ints     *file.Int64ColumnChunkReader
	bytes    *file.ByteArrayColumnChunkReader
	optional bool
	intVals  []int64
	byteVals []parquet.ByteArray
	defs     []int16
	levels   int // levels (rows) in the window
	level    int // the next one
	value    int // the next value (nulls have none)
}

func (c *cursor) reset(cr file.ColumnChunkReader) {
	*c = cursor{intVals: c.intVals, byteVals: c.byteVals, defs: c.defs}
	c.optional = cr.Descriptor().MaxDefinitionLevel() > 0
	switch r := cr.(type) {
	case *file.Int64ColumnChunkReader:
		c.ints = r
		if c.intVals == nil {
			c.intVals = make([]int64, window)
		}
	case *file.ByteArrayColumnChunkReader:
		c.bytes = r
		if c.byteVals == nil {
			c.byteVals = make([]parquet.ByteArray, window)
		}
	}
	if c.defs == nil {
		c.defs = make([]int16, window)
	}
}

// fill decodes the next window of the current page.
func (c *cursor) fill() error {
	var defs []int16
	if c.optional {
		defs = c.defs
	}
	var (
		levels int64
		err    error
	)
	if c.ints != nil {
		levels, _, err = c.ints.ReadBatchInPage(window, c.intVals, defs, nil)
	} else {
		levels, _, err = c.bytes.ReadBatchInPage(window, c.byteVals, defs, nil)
	}
	if err != nil {
		return err
	}
	if levels == 0 {
		return fmt.Errorf("the column ends before the row group")
	}
	c.levels, c.level, c.value = int(levels), 0, 0
	return nil
}

// advance moves to the next row, decoding a window when needed, and says
// whether it is null.
func (c *cursor) advance() (null bool, err error) {
	if c.level >= c.levels {
		if err := c.fill(); err != nil {
			return false, err
		}
	}
	i := c.level
	c.level++
	return c.optional && c.defs[i] == 0, nil
}

func (c *cursor) nextInt() (int64, bool, error) {
	null, err := c.advance()
	if err != nil || null {
		return 0, null, err
	}
	v := c.intVals[c.value]
	c.value++
	return v, false, nil
}

func (c *cursor) nextBytes() ([]byte, bool, error) {
	null, err := c.advance()
	if err != nil || null {
		return nil, null, err
	}
	v := c.byteVals[c.value]
	c.value++
	return v, false, nil
}

// arenaSize is the block the envelope's strings are copied into: one
// allocation for many small strings instead of one each.
const arenaSize = 64 << 10

// str returns a copy of v. Copies live in arena blocks that are never
// written again once a string points into them.
func (s *segmentReader) str(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	if cap(s.arena)-len(s.arena) < len(v) {
		s.arena = make([]byte, 0, max(arenaSize, len(v)))
	}
	off := len(s.arena)
	s.arena = append(s.arena, v...)
	return unsafe.String(&s.arena[off], len(v))
}

func (s *segmentReader) close() error { return s.pf.Close() }

// recoverCorrupt turns a panic inside the Parquet decoder, which hostile
// input can cause, into an error naming the member.
func recoverCorrupt(name string, err *error) {
	if r := recover(); r != nil {
		*err = errorf(name, -1, ErrCorrupt, "undecodable Parquet: %v", r)
	}
}
