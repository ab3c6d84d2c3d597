// Package hostile writes ferry archives that break the format's rules or
// limits on purpose, for tests and for torture: segments that decode to
// far more than they store, and members that appear twice. It is a second,
// independent writer of the container in spec/ARCHIVE.md (tar with pax
// checksums, a manifest with its own checksum), so it depends on nothing
// of package archive and can write what that package never would.
package hostile

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ArchiveID is the id of every archive this package writes.
const ArchiveID = "0badc0de-0000-4000-8000-000000000000"

var envelope = arrow.NewSchema([]arrow.Field{
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

// Segment is an event segment: rowGroups row groups of rows events each,
// of type typ (an event type of the catalogue, or any string), with the
// payload payload(seq) returns. Each row group is written whole, as one
// page per column when it fits: so a row group of large payloads that
// compress well is a small file that decodes to a great deal. With
// dictionary set, the type column is dictionary-encoded, as writers do for
// a repeated value: one long type then costs its length once.
type Segment struct {
	RowGroups, Rows int
	Type            string
	Payload         func(seq int64) []byte
	Dictionary      bool
	// Raw, when set, is the segment's bytes instead (not Parquet, say);
	// the manifest still counts RowGroups x Rows events of Type.
	Raw []byte
}

// Bytes writes the segment as a Parquet file. Its memory is a row group's
// payloads, twice; the dictionary's rows hold an index each, not the
// value.
func (s Segment) Bytes() ([]byte, error) {
	if s.Raw != nil {
		return s.Raw, nil
	}
	schema := envelope
	if s.Dictionary {
		fields := envelope.Fields()
		fields[1].Type = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		schema = arrow.NewSchema(fields, nil)
	}
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("type", s.Dictionary),
		parquet.WithDictionaryPageSizeLimit(1<<30),
		parquet.WithDataPageSize(1<<30),
		parquet.WithStats(false),
	)
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	seq := int64(0)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for g := 0; g < s.RowGroups; g++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, envelope) // the type column is replaced below when it is a dictionary
		for r := 0; r < s.Rows; r++ {
			seq++
			b.Field(0).(*array.Int64Builder).Append(seq)
			if !s.Dictionary {
				b.Field(1).(*array.StringBuilder).Append(s.Type)
			} else {
				b.Field(1).(*array.StringBuilder).AppendNull() // a placeholder
			}
			b.Field(2).(*array.StringBuilder).Append("page")
			b.Field(3).(*array.StringBuilder).Append("p" + strconv.FormatInt(seq, 10))
			b.Field(4).(*array.StringBuilder).AppendNull()
			b.Field(5).(*array.StringBuilder).Append("S")
			b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(at))
			b.Field(7).(*array.StringBuilder).AppendNull()
			b.Field(8).(*array.StringBuilder).BinaryBuilder.Append(s.Payload(seq))
		}
		rec := b.NewRecordBatch()
		b.Release()
		if s.Dictionary {
			// Index 0 in every row, of a dictionary of one value: the
			// value is held once, however many rows name it.
			cols := append([]arrow.Array{}, rec.Columns()...)
			idx := array.NewInt32Builder(memory.DefaultAllocator)
			for r := 0; r < s.Rows; r++ {
				idx.Append(0)
			}
			dict := array.NewStringBuilder(memory.DefaultAllocator)
			dict.Append(s.Type)
			cols[1] = array.NewDictionaryArray(schema.Field(1).Type, idx.NewArray(), dict.NewArray())
			old := rec
			rec = array.NewRecordBatch(schema, cols, int64(s.Rows))
			old.Release()
		}
		err := fw.Write(rec) // a row group of its own
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Events says how many events of which type the segment holds.
func (s Segment) Events() (count int64, byType map[string]int64) {
	n := int64(s.RowGroups * s.Rows)
	return n, map[string]int64{s.Type: n}
}

// Member is one member of an archive.
type Member struct {
	Name string
	Data []byte
}

// Archive wraps segments in an archive that is intact by every checksum
// and count: the header, the segments, a manifest listing them, and then
// the trailers given (written as they are).
func Archive(segs []Segment, trailers ...Member) ([]byte, error) {
	header, _ := json.Marshal(map[string]any{
		"format": "ferry-archive", "version": "1.2", "archive_id": ArchiveID, "parent_id": "",
		"producer": map[string]string{"name": "hostile", "version": "0"}, "created": "2026-01-01T00:00:00Z",
		"source": map[string]string{"kind": "embedded", "location": "hostile.db", "site_id": "hostile"},
	})
	members := []Member{{Name: "header.json", Data: header}}
	var entries []map[string]any
	var count, first, last int64
	byType := map[string]int64{}
	for i, s := range segs {
		data, err := s.Bytes()
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i+1, err)
		}
		n, types := s.Events()
		name := fmt.Sprintf("events/%08d.parquet", i+1)
		members = append(members, Member{Name: name, Data: data})
		entries = append(entries, map[string]any{"name": name, "size": len(data), "sha256": sum(data), "rows": n, "first_seq": count + 1, "last_seq": count + n})
		if first == 0 && n > 0 {
			first = count + 1
		}
		count += n
		last = count
		for t, k := range types {
			byType[t] += k
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, m := range members {
		if i > 0 {
			// Each member's data offset, as format 1.1 lists them.
			entries[i-1]["offset"] = offsetAfterHeader(buf.Len(), m)
		}
		if err := writeMember(tw, m); err != nil {
			return nil, err
		}
	}
	headerEntry := map[string]any{"name": "header.json", "size": len(header), "sha256": sum(header), "offset": 1536}
	manifest, _ := json.Marshal(map[string]any{
		"format": "ferry-archive", "version": "1.2", "archive_id": ArchiveID,
		"members": append([]map[string]any{headerEntry}, entries...),
		"events":  map[string]any{"count": count, "first_seq": first, "last_seq": last, "by_type": byType},
		"blobs":   map[string]any{"count": 0, "content_bytes": 0, "stored_bytes": 0}, "watermark": "",
	})
	if err := writeMember(tw, Member{Name: "manifest.json", Data: withChecksum(manifest)}); err != nil {
		return nil, err
	}
	for _, t := range trailers {
		if err := writeMember(tw, t); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// offsetAfterHeader is where a member's data starts when its pax header
// and tar header are written at pos: a pax header block, its records
// padded to a block, and the member's own header block.
func offsetAfterHeader(pos int, m Member) int {
	var probe bytes.Buffer
	tw := tar.NewWriter(&probe)
	tw.WriteHeader(header(m))
	tw.Flush()
	return (pos+511)/512*512 + probe.Len() // the previous member's padding is written lazily
}

func header(m Member) *tar.Header {
	return &tar.Header{Name: m.Name, Size: int64(len(m.Data)), Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX,
		ModTime: time.Unix(0, 0), PAXRecords: map[string]string{"SCHILY.xattr.user.ferry.sha256": sum(m.Data)}}
}

func writeMember(tw *tar.Writer, m Member) error {
	if err := tw.WriteHeader(header(m)); err != nil {
		return err
	}
	_, err := tw.Write(m.Data)
	return err
}

// withChecksum ends a manifest (a JSON object) with its checksum field
// (spec §3.4): the SHA-256 of every byte before the field's comma.
func withChecksum(manifest []byte) []byte {
	body := manifest[:len(manifest)-1] // without the closing brace
	return append(append([]byte{}, body...), []byte(`,"manifest_checksum":"`+sum(body)+"\"}\n")...)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// AppendTrailer returns an archive with one more trailer member after its
// last member (a copy of a signature, say): the tar end is moved past it.
func AppendTrailer(archive []byte, t Member) ([]byte, error) {
	end := len(archive)
	for end > 0 && archive[end-1] == 0 {
		end--
	}
	if end == 0 {
		return nil, fmt.Errorf("hostile: not an archive")
	}
	end = (end + 511) / 512 * 512 // the last member's padded end
	var buf bytes.Buffer
	buf.Write(archive[:end])
	tw := tar.NewWriter(&buf)
	if err := writeMember(tw, t); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
