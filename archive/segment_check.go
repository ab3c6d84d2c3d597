package archive

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/thrift/lib/go/thrift"
)

// What a segment may make a reader hold (spec §5). A reader holds at most
// a page of each column (and its dictionary) and one event at a time, so
// these bound its memory whatever a hostile segment declares.
const (
	maxPayloadValue = 16 << 20 // one event's payload
	maxValue        = 64 << 10 // any other string value
	maxPayloadPage  = 32 << 20 // a page of the payload column, uncompressed or compressed
	maxPage         = 4 << 20  // a page of any other column
	maxPageHeader   = 1 << 20
	maxRowGroups    = 1024
	maxColumns      = 256
)

// CheckSegment checks a Parquet segment's layout against the limits of
// spec §5 without decoding a value: its codecs, encodings, row groups, and
// every page header of every column. Readers that hand a segment to
// another Parquet engine (inspect, to DuckDB) call it first.
func CheckSegment(name string, r io.ReaderAt, size int64) (err error) {
	defer recoverCorrupt(name, &err)
	pf, err := file.NewParquetReader(io.NewSectionReader(r, 0, size), file.WithReadProps(readProps()))
	if err != nil {
		return errorf(name, -1, ErrCorrupt, "not a readable Parquet file: %v", err)
	}
	defer pf.Close()
	return checkSegment(name, pf, r)
}

// checkSegment is CheckSegment over an open Parquet file of r.
func checkSegment(name string, pf *file.Reader, r io.ReaderAt) error {
	md := pf.MetaData()
	switch {
	case md.NumRowGroups() > maxRowGroups:
		return errorf(name, -1, ErrTooLarge, "%d row groups (limit %d)", md.NumRowGroups(), maxRowGroups)
	case md.Schema.NumColumns() > maxColumns:
		return errorf(name, -1, ErrTooLarge, "%d columns (limit %d)", md.Schema.NumColumns(), maxColumns)
	}
	for c := 0; c < md.Schema.NumColumns(); c++ {
		if col := md.Schema.Column(c); col.MaxRepetitionLevel() > 0 || col.MaxDefinitionLevel() > 1 {
			return errorf(name, -1, ErrCorrupt, "column %q is nested or repeated; segments are flat", col.Name())
		}
	}
	var rows int64
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		n := rg.NumRows()
		if n < 0 || n > RowGroupRows {
			return errorf(name, -1, ErrTooLarge, "row group %d holds %d rows (limit %d)", i, n, RowGroupRows)
		}
		rows += n
		if rg.NumColumns() != md.Schema.NumColumns() {
			return errorf(name, -1, ErrCorrupt, "row group %d has %d columns, the schema %d", i, rg.NumColumns(), md.Schema.NumColumns())
		}
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return errorf(name, -1, ErrCorrupt, "row group %d column %d: %v", i, c, err)
			}
			col := md.Schema.Column(c).Name()
			if err := checkColumnChunk(r, cc, n, col); err != nil {
				return errorf(name, -1, errorKind(err), "row group %d column %q: %v", i, col, err)
			}
		}
	}
	if rows != md.NumRows {
		return errorf(name, -1, ErrCorrupt, "row groups hold %d rows, the footer says %d", rows, md.NumRows)
	}
	return nil
}

// errTooLarge marks a limit, as opposed to damage, inside checkColumnChunk.
var errTooLarge = errors.New("over a limit")

func errorKind(err error) error {
	if errors.Is(err, errTooLarge) {
		return ErrTooLarge
	}
	return ErrCorrupt
}

// pageLimit is the largest page a column may have.
func pageLimit(column string) int64 {
	if column == columnNames[colPayload] {
		return maxPayloadPage
	}
	return maxPage
}

// checkColumnChunk walks a column chunk's page headers: they must tile the
// chunk exactly, each page within its column's limit, with encodings
// ferry's readers know, and data pages holding rows values in all.
func checkColumnChunk(r io.ReaderAt, cc *metadata.ColumnChunkMetaData, rows int64, column string) error {
	switch cc.Compression() {
	case compress.Codecs.Zstd, compress.Codecs.Uncompressed:
	default:
		return fmt.Errorf("compressed with %s; segments use zstd", cc.Compression())
	}
	if cc.NumValues() != rows {
		return fmt.Errorf("holds %d values for %d rows", cc.NumValues(), rows)
	}
	start := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
		start = cc.DictionaryPageOffset()
	}
	length := cc.TotalCompressedSize()
	if start < 0 || length <= 0 || start > 1<<40 || length > maxColumnChunk {
		return fmt.Errorf("%w: %d bytes at offset %d", errTooLarge, length, start)
	}
	limit := pageLimit(column)
	var values int64
	pos, end := start, start+length
	for n := 0; pos < end; n++ {
		h, headerLen, err := readPageHeader(r, pos, end)
		if err != nil {
			return fmt.Errorf("page %d at offset %d: %w", n, pos, err)
		}
		if h.compressed < 0 || h.uncompressed < 0 {
			return fmt.Errorf("page %d: negative size", n)
		}
		if h.compressed > limit || h.uncompressed > limit {
			return fmt.Errorf("%w: page %d declares %d bytes (%d compressed); a page of this column may hold %d", errTooLarge, n, h.uncompressed, h.compressed, limit)
		}
		switch h.kind {
		case pageDictionary:
			if n != 0 {
				return fmt.Errorf("a dictionary page after the first page")
			}
			if !plainEncoding(h.encoding) {
				return fmt.Errorf("dictionary page encoded as %s", parquet.Encoding(h.encoding))
			}
			// A dictionary entry stands for a value in any number of rows:
			// the one way a segment repeats a value without storing it
			// again. Each must be within the column's value limit.
			if cc.Type() == parquet.Types.ByteArray {
				if err := checkDictionary(r, pos+headerLen, h, cc.Compression(), valueLimitOf(column)); err != nil {
					return err
				}
			}
		case pageData, pageDataV2:
			if !valueEncoding(h.encoding) || (h.kind == pageData && (!levelEncoding(h.defEncoding) || !levelEncoding(h.repEncoding))) {
				return fmt.Errorf("page %d encoded as %s; segments use PLAIN and dictionary encodings", n, parquet.Encoding(h.encoding))
			}
			if h.values < 0 || h.values > rows-values {
				return fmt.Errorf("page %d holds %d values, more than the row group's %d rows", n, h.values, rows)
			}
			values += h.values
		default:
			return fmt.Errorf("page %d is of kind %d; segments hold data and dictionary pages", n, h.kind)
		}
		pos += headerLen + h.compressed
	}
	if pos != end {
		return fmt.Errorf("pages end at offset %d, the chunk at %d", pos, end)
	}
	if values != rows {
		return fmt.Errorf("pages hold %d values for %d rows", values, rows)
	}
	return nil
}

// valueLimitOf is the largest value a column may hold.
func valueLimitOf(column string) int {
	if column == columnNames[colPayload] {
		return maxPayloadValue
	}
	return maxValue
}

// checkDictionary decodes a dictionary page of byte arrays (PLAIN: each a
// 4-byte little-endian length, then its bytes) and checks every entry's
// length. The page is within its limit already.
func checkDictionary(r io.ReaderAt, at int64, h pageHeader, codec compress.Compression, limit int) error {
	data := make([]byte, h.compressed)
	if _, err := r.ReadAt(data, at); err != nil {
		return fmt.Errorf("read the dictionary page: %v", err)
	}
	if codec == compress.Codecs.Zstd {
		var err error
		if data, err = dictDecoder.DecodeWithError(make([]byte, 0, h.uncompressed), data); err != nil {
			return fmt.Errorf("the dictionary page does not decompress: %v", err)
		}
	}
	if int64(len(data)) != h.uncompressed {
		return fmt.Errorf("the dictionary page holds %d bytes, its header says %d", len(data), h.uncompressed)
	}
	for i := 0; len(data) > 0; i++ {
		if len(data) < 4 {
			return fmt.Errorf("the dictionary page ends inside entry %d", i)
		}
		n := int(binary.LittleEndian.Uint32(data))
		if n > limit {
			return fmt.Errorf("%w: dictionary entry %d is %d bytes (a value of this column may hold %d)", errTooLarge, i, n, limit)
		}
		if n > len(data)-4 {
			return fmt.Errorf("the dictionary page ends inside entry %d", i)
		}
		data = data[4+n:]
	}
	return nil
}

// dictDecoder decompresses dictionary pages for checkDictionary.
var dictDecoder = newBoundedZstd()

// Parquet's page kinds and the encodings a segment may use (parquet.thrift).
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3
)

func plainEncoding(e int32) bool {
	return e == int32(parquet.Encodings.Plain) || e == int32(parquet.Encodings.PlainDict)
}

func valueEncoding(e int32) bool { return plainEncoding(e) || e == int32(parquet.Encodings.RLEDict) }

func levelEncoding(e int32) bool {
	return e == int32(parquet.Encodings.RLE) || e == int32(parquet.Encodings.BitPacked)
}

// pageHeader is what checkColumnChunk needs of a PageHeader.
type pageHeader struct {
	kind, encoding, defEncoding, repEncoding int32
	uncompressed, compressed                 int64
	values                                   int64
}

// readPageHeader decodes the thrift PageHeader at pos, reading a window
// that grows until the header fits (up to maxPageHeader), and returns it
// with its length in bytes.
func readPageHeader(r io.ReaderAt, pos, end int64) (pageHeader, int64, error) {
	for window := int64(512); ; window *= 8 {
		n := min(window, end-pos, maxPageHeader)
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, pos); err != nil && !(err == io.EOF && n > 0) {
			return pageHeader{}, 0, fmt.Errorf("read page header: %v", err)
		}
		h, used, err := parsePageHeader(buf)
		if err == nil {
			return h, used, nil
		}
		if n < window || n >= maxPageHeader {
			return pageHeader{}, 0, fmt.Errorf("page header: %v", err)
		}
	}
}

func parsePageHeader(buf []byte) (h pageHeader, used int64, err error) {
	mem := thrift.NewTMemoryBufferLen(len(buf))
	mem.Write(buf)
	conf := &thrift.TConfiguration{MaxMessageSize: maxPageHeader, MaxFrameSize: maxPageHeader}
	p := thrift.NewTCompactProtocolConf(mem, conf)
	ctx := context.Background()
	var sawType, sawSizes int
	err = readStruct(ctx, p, func(id int16, t thrift.TType) error {
		switch {
		case id == 1 && t == thrift.I32:
			sawType++
			return readI32(ctx, p, &h.kind)
		case id == 2 && t == thrift.I32:
			sawSizes++
			return readI64(ctx, p, &h.uncompressed)
		case id == 3 && t == thrift.I32:
			sawSizes++
			return readI64(ctx, p, &h.compressed)
		case id == 5 && t == thrift.STRUCT: // DataPageHeader
			return readStruct(ctx, p, func(id int16, t thrift.TType) error {
				switch {
				case id == 1 && t == thrift.I32:
					return readI64(ctx, p, &h.values)
				case id == 2 && t == thrift.I32:
					return readI32(ctx, p, &h.encoding)
				case id == 3 && t == thrift.I32:
					return readI32(ctx, p, &h.defEncoding)
				case id == 4 && t == thrift.I32:
					return readI32(ctx, p, &h.repEncoding)
				}
				return p.Skip(ctx, t)
			})
		case id == 7 && t == thrift.STRUCT: // DictionaryPageHeader
			return readStruct(ctx, p, func(id int16, t thrift.TType) error {
				if id == 2 && t == thrift.I32 {
					return readI32(ctx, p, &h.encoding)
				}
				return p.Skip(ctx, t)
			})
		case id == 8 && t == thrift.STRUCT: // DataPageHeaderV2
			return readStruct(ctx, p, func(id int16, t thrift.TType) error {
				switch {
				case id == 1 && t == thrift.I32:
					return readI64(ctx, p, &h.values)
				case id == 4 && t == thrift.I32:
					return readI32(ctx, p, &h.encoding)
				}
				return p.Skip(ctx, t)
			})
		}
		return p.Skip(ctx, t)
	})
	if err != nil {
		return h, 0, err
	}
	if sawType != 1 || sawSizes != 2 {
		return h, 0, errors.New("a page header without its type and sizes")
	}
	return h, int64(len(buf) - mem.Len()), nil
}

// readStruct reads a thrift struct's fields, calling field for each.
func readStruct(ctx context.Context, p *thrift.TCompactProtocol, field func(int16, thrift.TType) error) error {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			return p.ReadStructEnd(ctx)
		}
		if err := field(id, t); err != nil {
			return err
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
}

func readI32(ctx context.Context, p *thrift.TCompactProtocol, v *int32) (err error) {
	*v, err = p.ReadI32(ctx)
	return err
}

func readI64(ctx context.Context, p *thrift.TCompactProtocol, v *int64) error {
	n, err := p.ReadI32(ctx)
	*v = int64(n)
	return err
}
