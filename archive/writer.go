package archive

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
)

// Spool thresholds: a member larger than this is spooled to a temporary file.
const (
	blobSpoolMemory    = 8 << 20
	segmentSpoolMemory = 8 << 20
	blobWindow         = 2 << 20
)

// ErrClosed is returned by a Writer used after Close or Abort.
var ErrClosed = errors.New("archive: writer is closed")

// Option configures a Writer.
type Option func(*Writer)

// WithTempDir sets where members too large for memory are spooled.
func WithTempDir(dir string) Option { return func(w *Writer) { w.tempDir = dir } }

// WithEncoderLevel sets the zstd level for blobs (default zstd.SpeedDefault).
func WithEncoderLevel(l zstd.EncoderLevel) Option { return func(w *Writer) { w.level = l } }

// WithRedaction records in the manifest that the archive is a redacted copy.
func WithRedaction(r Redaction) Option { return func(w *Writer) { w.redaction = &r } }

// WithColumns declares producer columns: every segment gets them after the
// envelope, and events carry their values in Event.Extra. The manifest
// lists them.
func WithColumns(cols ...Column) Option { return func(w *Writer) { w.columns = cols } }

// Writer writes an archive forwards to an io.Writer. Write events in seq
// order with WriteEvent and blob contents with AddBlob, in any interleaving,
// then call Close. Memory stays bounded by the spool thresholds and one
// Parquet row group, whatever the archive's size; only the list of member
// names (for the manifest) grows, by about 150 bytes per distinct blob.
// A Writer is not safe for concurrent use.
type Writer struct {
	out        *bufio.Writer
	mw         *memberWriter
	header     Header
	tempDir    string
	level      zstd.EncoderLevel
	columns    []Column
	schema     *arrow.Schema
	signKey    ed25519.PrivateKey
	signer     string
	recipients []age.Recipient
	redaction  *Redaction
	sealSpool  *spool

	seg         *segmentWriter
	segSpool    *spool
	segOrdinal  int
	eventsEnded bool // EndEvents was called

	rawSpool *spool
	zSpool   *spool
	zbuf     []byte
	enc      *zstd.Encoder
	blobs    map[[32]byte]struct{}

	events    EventStats
	digest    *eventDigest
	blobStats BlobStats
	watermark string

	manifest *Manifest // as written by Close

	finish func() error // set by Create: sync and rename
	abort  func()       // set by Create: remove the temporary file
	err    error        // sticky
}

// NewWriter starts an archive on out and writes its header member. Empty
// Format and Version are filled in; an empty ArchiveID gets a new UUID; a
// zero Created becomes now.
func NewWriter(out io.Writer, h Header, opts ...Option) (*Writer, error) {
	if h.Format == "" {
		h.Format = FormatName
	}
	if h.Version == "" {
		h.Version = Version
	}
	if h.ArchiveID == "" {
		h.ArchiveID = uuid.NewString()
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = h.Created.UTC().Truncate(time.Second)
	if err := checkHeader(&h); err != nil {
		return nil, err
	}
	w := &Writer{
		out:    bufio.NewWriterSize(out, 1<<20),
		header: h,
		level:  zstd.SpeedDefault,
		blobs:  map[[32]byte]struct{}{},
		events: EventStats{ByType: map[string]int64{}},
		digest: newEventDigest(),
	}
	for _, o := range opts {
		o(w)
	}
	schema, err := segmentSchema(w.columns)
	if err != nil {
		return nil, err
	}
	w.schema = schema
	w.events.Columns = w.columns
	if len(w.recipients) > 0 {
		h.Requires = append(h.Requires, FeatureAge)
		h.Encryption = &Encryption{Scheme: FeatureAge, Recipients: recipientNames(w.recipients)}
		w.header = h
	}
	w.mw = newMemberWriter(w.out, h.Created, w.tempDir)
	w.segSpool = newSpool(w.tempDir, segmentSpoolMemory)
	w.rawSpool = newSpool(w.tempDir, blobSpoolMemory)
	w.zSpool = newSpool(w.tempDir, blobSpoolMemory)
	w.sealSpool = newSpool(w.tempDir, blobSpoolMemory)
	// A 2 MiB window, as the zstd command line uses at its default level,
	// bounds the encoder's history buffer whatever the blob's size.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(w.level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(blobWindow))
	if err != nil {
		return nil, err
	}
	w.enc = enc
	data, err := json.Marshal(&h)
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	sum := sha256.Sum256(data)
	if err := w.mw.write(MemberEntry{Name: HeaderName, Size: int64(len(data)), SHA256: hexSum(sum[:])}, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return w, nil
}

// Header returns the header as written.
func (w *Writer) Header() Header { return w.header }

// WriteEvent appends ev to the log. Seq must be at least 1 and greater than
// the previous event's; Type, Entity and ID must be set. It copies the
// payload: the caller may reuse ev.Payload's bytes once it returns.
func (w *Writer) WriteEvent(ev *Event) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case ev.Seq < 1 || ev.Seq <= w.events.LastSeq:
		return fmt.Errorf("archive: event seq %d after seq %d: seq must increase strictly from 1", ev.Seq, w.events.LastSeq)
	case ev.Type == "" || ev.Entity == "" || ev.ID == "":
		return fmt.Errorf("archive: event seq %d: type, entity and id are required", ev.Seq)
	}
	if w.eventsEnded {
		return fmt.Errorf("archive: event seq %d after EndEvents", ev.Seq)
	}
	if w.seg == nil {
		seg, err := newSegmentWriter(w.segSpool, w.schema, w.header.Producer.Name+" "+w.header.Producer.Version)
		if err != nil {
			return w.fail(err)
		}
		w.seg = seg
	}
	if err := w.seg.add(ev); err != nil {
		return w.fail(err)
	}
	if w.events.Count == 0 {
		w.events.FirstSeq = ev.Seq
	}
	w.events.Count++
	w.events.LastSeq = ev.Seq
	w.events.ByType[ev.Type]++
	w.digest.add(ev)
	if w.seg.gathered() > 0 {
		return nil
	}
	// add handed a full batch to Parquet (spec §3.2's 1 MiB): see if the
	// segment is full too.
	if w.seg.full() {
		return w.closeSegment()
	}
	return nil
}

// EndEvents says that no event follows. The open segment is finished on
// another goroutine while the producer adds its last blobs; Close writes
// it. A producer that ends with blobs to add calls it first.
func (w *Writer) EndEvents() {
	w.eventsEnded = true
	if w.seg != nil && w.err == nil {
		w.seg.finish()
	}
}

// closeSegment finishes the open segment and writes it as a member.
func (w *Writer) closeSegment() error {
	seg := w.seg
	w.seg = nil
	if err := seg.close(); err != nil {
		return w.fail(err)
	}
	w.segOrdinal++
	r, err := w.segSpool.Reader()
	if err != nil {
		return w.fail(err)
	}
	e := MemberEntry{
		Name: segmentName(w.segOrdinal), Size: w.segSpool.Size(), SHA256: w.segSpool.Digest(),
		Rows: seg.rows, FirstSeq: seg.firstSeq, LastSeq: seg.lastSeq,
	}
	if err := w.writeMember(e, r); err != nil {
		return w.fail(err)
	}
	w.segSpool.Reset()
	return nil
}

// HasBlob reports whether a blob with this content digest (hex SHA-256) was
// already added, so a caller that knows the digest can skip reading it.
func (w *Writer) HasBlob(digest string) bool {
	var key [32]byte
	if n, err := hex.Decode(key[:], []byte(digest)); err != nil || n != 32 {
		return false
	}
	_, ok := w.blobs[key]
	return ok
}

// AddBlob stores the content read from r once, however often it is added,
// and returns its digest (hex SHA-256) and size.
func (w *Writer) AddBlob(r io.Reader) (digest string, size int64, err error) {
	if w.err != nil {
		return "", 0, w.err
	}
	defer w.rawSpool.Reset()
	if _, err := io.Copy(w.rawSpool, r); err != nil {
		return "", 0, fmt.Errorf("archive: read blob: %w", err)
	}
	var key [32]byte
	copy(key[:], w.rawSpool.sum.Sum(nil))
	digest, size = hex.EncodeToString(key[:]), w.rawSpool.Size()
	if _, ok := w.blobs[key]; ok {
		return digest, size, nil
	}
	if err := w.writeBlob(digest, size); err != nil {
		return "", 0, w.fail(err)
	}
	w.blobs[key] = struct{}{}
	w.blobStats.Count++
	w.blobStats.ContentBytes += size
	return digest, size, nil
}

// writeBlob compresses the spooled content and writes whichever of the
// compressed and raw forms is smaller.
func (w *Writer) writeBlob(digest string, size int64) error {
	e := MemberEntry{ContentSize: &size}
	var body io.Reader
	if raw, inMemory := w.rawSpool.Bytes(); inMemory {
		w.zbuf = w.enc.EncodeAll(raw, w.zbuf[:0])
		if len(w.zbuf) < len(raw) {
			sum := sha256.Sum256(w.zbuf)
			e.Name, e.Size, e.SHA256, body = blobName(digest, true), int64(len(w.zbuf)), hexSum(sum[:]), bytes.NewReader(w.zbuf)
		} else {
			e.Name, e.Size, e.SHA256, body = blobName(digest, false), size, digest, bytes.NewReader(raw)
		}
	} else {
		defer w.zSpool.Reset()
		src, err := w.rawSpool.Reader()
		if err != nil {
			return err
		}
		w.enc.Reset(w.zSpool)
		if _, err := io.Copy(w.enc, src); err != nil {
			return err
		}
		if err := w.enc.Close(); err != nil {
			return err
		}
		if w.zSpool.Size() < size {
			e.Name, e.Size, e.SHA256 = blobName(digest, true), w.zSpool.Size(), w.zSpool.Digest()
			body, err = w.zSpool.Reader()
		} else {
			e.Name, e.Size, e.SHA256 = blobName(digest, false), size, digest
			body, err = w.rawSpool.Reader()
		}
		if err != nil {
			return err
		}
	}
	return w.writeMember(e, body)
}

// writeMember writes a segment or blob member, sealed for the recipients
// when the archive is encrypted.
func (w *Writer) writeMember(e MemberEntry, body io.Reader) error {
	if len(w.recipients) > 0 {
		var err error
		if e, body, err = sealMember(e, body, w.sealSpool, w.recipients); err != nil {
			return err
		}
		defer w.sealSpool.Reset()
	}
	if e.ContentSize != nil {
		w.blobStats.StoredBytes += e.Size
	}
	return w.mw.write(e, body)
}

// SetWatermark records what the producer needs to continue with an
// incremental export. It is stored in the manifest, opaque to readers.
func (w *Writer) SetWatermark(s string) { w.watermark = s }

// Close writes the last segment, the manifest and the end of the archive,
// and flushes the output. The archive is complete only if Close returns nil.
func (w *Writer) Close() error {
	if err := w.err; err != nil {
		if err != ErrClosed {
			w.Abort()
		}
		return err
	}
	if w.seg != nil {
		if err := w.closeSegment(); err != nil {
			return err
		}
	}
	w.events.Digest = w.digest.sum()
	m := &Manifest{
		Format: w.header.Format, Version: w.header.Version, ArchiveID: w.header.ArchiveID,
		Members: []MemberEntry{}, Events: w.events, Blobs: w.blobStats, Watermark: w.watermark, Redaction: w.redaction,
	}
	w.manifest = m
	manifest, err := w.spoolManifest(m)
	if err != nil {
		return w.fail(err)
	}
	defer manifest.release()
	r, err := manifest.Reader()
	if err != nil {
		return w.fail(err)
	}
	if err := w.mw.write(MemberEntry{Name: ManifestName, Size: manifest.Size(), SHA256: manifest.Digest()}, r); err != nil {
		return w.fail(err)
	}
	if w.signKey != nil {
		r, err := manifest.Reader()
		if err != nil {
			return w.fail(err)
		}
		data, err := io.ReadAll(r) // ed25519 signs the whole message
		if err != nil {
			return w.fail(err)
		}
		sig, err := sign(data, w.signKey, w.signer)
		if err != nil {
			return w.fail(err)
		}
		sum := sha256.Sum256(sig)
		if err := w.mw.write(MemberEntry{Name: SignatureName, Size: int64(len(sig)), SHA256: hexSum(sum[:])}, bytes.NewReader(sig)); err != nil {
			return w.fail(err)
		}
	}
	if err := w.mw.close(); err != nil {
		return w.fail(err)
	}
	if err := w.out.Flush(); err != nil {
		return w.fail(err)
	}
	w.release()
	if w.finish != nil {
		if err := w.finish(); err != nil {
			w.err = err
			w.Abort()
			return err
		}
	}
	w.err = ErrClosed
	return nil
}

// Manifest returns the manifest Close wrote, or nil before that. Its
// Members are left out: they are in the archive, and a Writer does not
// hold them (Open the archive to list them).
func (w *Writer) Manifest() *Manifest { return w.manifest }

// spoolManifest renders m, with the member entries the member writer
// spooled in place of its empty Members, as the bytes json.Marshal would
// give, ending with the checksum suffix of spec §3.4.
func (w *Writer) spoolManifest(m *Manifest) (*spool, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	const members = `"members":[`
	at := bytes.Index(js, []byte(members+"]"))
	if at < 0 {
		return nil, fmt.Errorf("archive: manifest without members: %s", js)
	}
	at += len(members)
	out := newSpool(w.tempDir, 1<<20)
	entries, err := w.mw.entries.Reader()
	if err == nil {
		_, err = out.Write(js[:at])
	}
	if err == nil {
		_, err = io.Copy(out, entries)
	}
	if err == nil {
		_, err = out.Write(js[at : len(js)-1]) // without the closing brace
	}
	if err == nil {
		sum := out.sum.Sum(nil) // of every byte before the suffix
		_, err = out.Write([]byte(checksumSuffix(sum)))
	}
	if err != nil {
		out.release()
		return nil, err
	}
	return out, nil
}

// Abort abandons the archive: a file begun by Create is removed. Calling
// it after a successful Close does nothing.
func (w *Writer) Abort() {
	if w.err == ErrClosed && w.abort == nil {
		return
	}
	w.release()
	if w.abort != nil {
		w.abort()
		w.abort = nil
	}
	w.err = ErrClosed
}

func (w *Writer) release() {
	if w.seg != nil {
		w.seg.wait() // its encoding writes to the spool released below
	}
	w.mw.entries.release()
	w.segSpool.release()
	w.rawSpool.release()
	w.zSpool.release()
	w.sealSpool.release()
	w.seg = nil
}

// fail makes err sticky: a tar stream that failed midway cannot continue.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

const checksumField = `,"manifest_checksum":"`

// checksumSuffix closes an unterminated manifest JSON object whose bytes
// hash to sum (spec §3.4).
func checksumSuffix(sum []byte) string { return checksumField + hexSum(sum) + "\"}\n" }

// appendManifestChecksum closes an unterminated JSON object with the checksum.
func appendManifestChecksum(prefix []byte) []byte {
	sum := sha256.Sum256(prefix)
	return append(prefix, checksumSuffix(sum[:])...)
}
