package archive

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Reader reads an archive sequentially from a stream (a pipe, stdin, a
// socket). Each member is checked against the SHA-256 of its pax header as
// it is read; the manifest, which comes last, is checked against every
// member seen when Next reaches it. Data is handed out before the manifest
// has confirmed the whole archive: a consumer that must not act on a damaged
// archive verifies it first, or uses File.
type Reader struct {
	tap         *tapReader
	tr          *tar.Reader
	header      *Header
	manifest    *Manifest
	manifestRaw *spool // the manifest's bytes, until the end of the archive
	signature   []byte // the signature trailer's bytes
	sig         *Signature
	sigErr      error
	seen        *recList
	order       memberOrder
	cur         *memberInfo
	body        *checkedReader // the current member's stored bytes
	dec         *zstd.Decoder
	tempDir     string
	cfg         readConfig
	err         error // sticky framing error: the stream cannot continue
	// listed, when set (Verify's ReadAhead), returns the manifest as
	// decoded from the file, or nil.
	listed func() *listedManifest
}

// Member describes the member a Reader is positioned on.
type Member struct {
	Name        string
	Kind        Kind
	Size        int64  // stored bytes
	SHA256      string // of the stored bytes
	Offset      int64  // of its data in the archive
	Digest      string // blobs: content SHA-256
	ContentSize int64  // blobs: size after decompression
}

func publicMember(m *memberInfo) *Member {
	p := &Member{Name: m.Name, Kind: m.kind, Size: m.Size, SHA256: m.SHA256, Offset: m.offset, Digest: m.digest}
	if m.ContentSize != nil {
		p.ContentSize = *m.ContentSize
	}
	return p
}

// NewReader starts reading an archive from r: it reads header.json and
// refuses an archive this package cannot read before anything else.
func NewReader(r io.Reader, opts ...ReadOption) (*Reader, error) {
	tap := &tapReader{r: r}
	rd := &Reader{tap: tap, tr: tar.NewReader(tap), dec: newDecoder(), cfg: readOptions(opts)}
	rd.seen = newRecList(rd.tempDir)
	m, err := rd.nextMember()
	if err == io.EOF {
		return nil, errorf("", 0, ErrNotArchive, "no members")
	}
	if err != nil {
		return nil, err
	}
	if m.kind != KindHeader {
		return nil, errorf(m.Name, m.offset, ErrNotArchive, "first member is %s, want %s", m.Name, HeaderName)
	}
	data, err := readSmall(rd.body, HeaderName, maxHeaderSize)
	if err != nil {
		return nil, err
	}
	if rd.header, err = decodeHeader(data); err != nil {
		return nil, err
	}
	rd.order.sealed = rd.header.Encrypted()
	return rd, nil
}

// Header returns the archive's header.
func (r *Reader) Header() Header { return *r.header }

// Manifest returns the manifest once Next has returned io.EOF, else nil.
func (r *Reader) Manifest() *Manifest { return r.manifest }

// Offset is how many bytes of the archive have been read.
func (r *Reader) Offset() int64 { return r.tap.pos }

// Next advances to the next member, reading and checking whatever is left
// of the current one. At the manifest it checks the manifest against every
// member seen and the end of the archive, and returns io.EOF. An error from
// a member's contents (a checksum mismatch) leaves the Reader usable;
// errors in the tar framing are sticky.
func (r *Reader) Next() (*Member, error) {
	if r.body != nil {
		_, err := io.Copy(io.Discard, r.body)
		r.body = nil
		if err != nil {
			if errors.Is(err, ErrChecksum) || errors.Is(err, ErrCorrupt) {
				return nil, err // the member is damaged, the framing is intact
			}
			return nil, r.fail(tarDataError(err, r.cur))
		}
	}
	m, err := r.nextMember()
	if err == io.EOF {
		if r.manifest == nil {
			return nil, r.fail(errorf("", r.tap.pos, ErrTruncated, "archive ends without %s", ManifestName))
		}
		r.checkSignature()
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	return r.enter(m)
}

// enter makes m current, handling the manifest and trailers internally.
func (r *Reader) enter(m *memberInfo) (*Member, error) {
	for m.kind == KindManifest || m.kind == KindTrailer {
		if m.kind == KindManifest {
			if err := r.readManifest(); err != nil {
				return nil, r.fail(err)
			}
		} else if m.Name == SignatureName {
			data, err := readSmall(r.body, m.Name, maxSignatureSize)
			if err != nil {
				return nil, err
			}
			r.signature = data
		} else if _, err := io.Copy(io.Discard, r.body); err != nil {
			return nil, err
		}
		r.body = nil
		next, err := r.nextMember()
		if err == io.EOF {
			r.checkSignature()
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		m = next
	}
	return publicMember(m), nil
}

// readManifest checks the manifest's checksums while it is spooled (it
// can be tens of megabytes), then decodes it from the spool against the
// members seen.
func (r *Reader) readManifest() error {
	// The members' records are not needed once the manifest is checked.
	defer func() { r.seen.release(); r.seen = newRecList(r.tempDir) }()
	if err := checkDuplicates(r.seen); err != nil {
		return err
	}
	sp := newUnhashedSpool(r.tempDir, 1<<20) // checkManifestSums hashes it
	if err := checkManifestSums(r.body, r.cur.Size, sp); err != nil {
		sp.release()
		return err
	}
	data, err := sp.Reader()
	var l *listedManifest
	if r.listed != nil {
		l = r.listed()
	}
	if err == nil && l != nil && l.sha256 == r.cur.SHA256 {
		// The bytes just checked are those decoded ahead.
		r.manifest, err = checkListed(l.list, l.manifest, r.seen)
	} else if err == nil {
		r.manifest, err = checkManifest(data, r.header, r.seen)
	}
	if err != nil {
		sp.release()
		return err
	}
	r.manifestRaw = sp
	return nil
}

// checkSignature checks a signature trailer against the manifest, at the
// end of the archive, and lets the manifest's bytes go.
func (r *Reader) checkSignature() {
	if r.manifestRaw == nil {
		return
	}
	defer func() { r.manifestRaw.release(); r.manifestRaw = nil }()
	if r.signature == nil {
		return
	}
	data, err := r.manifestRaw.Reader()
	var manifest []byte
	if err == nil {
		manifest, err = io.ReadAll(data)
	}
	if err != nil {
		r.sigErr = err
		return
	}
	r.sig, r.sigErr = checkSignature(r.signature, manifest)
}

// Signature returns the archive's checked signature once Next has returned
// io.EOF, or nil when it is not signed. An error means the signature is
// there but does not hold.
func (r *Reader) Signature() (*Signature, error) { return r.sig, r.sigErr }

// nextMember reads the next tar header, checking the framing bytes before
// it and the rules of the member it announces.
func (r *Reader) nextMember() (*memberInfo, error) {
	if r.err != nil {
		return nil, r.err
	}
	pad := 0
	if r.cur != nil {
		pad = padding(r.cur.Size)
	}
	start := r.tap.pos
	r.tap.record()
	hdr, err := r.tr.Next()
	framing, overflow := r.tap.stop()
	if err == io.EOF {
		return nil, r.checkEnd(framing, pad, start)
	}
	if err != nil {
		return nil, r.fail(tarError(err, start, framing))
	}
	if overflow {
		return nil, r.fail(errorf(hdr.Name, start, ErrTooLarge, "tar headers over %d bytes", maxPaxSize))
	}
	if at, err := checkFraming(framing, pad, false); err != nil {
		return nil, r.fail(&Error{Member: hdr.Name, Offset: start + int64(at), Err: err})
	}
	m, err := memberFromHeader(hdr, r.tap.pos)
	if err != nil {
		return nil, r.fail(err)
	}
	if err := r.order.check(m); err != nil {
		return nil, r.fail(err)
	}
	r.cur = m
	if m.kind != KindManifest && m.kind != KindTrailer {
		if err := r.seen.add(recOf(m)); err != nil {
			return nil, r.fail(err)
		}
	}
	r.body = newCheckedReader(r.tr, m)
	return m, nil
}

// checkEnd checks the end-of-archive blocks and that only zeros follow.
func (r *Reader) checkEnd(framing []byte, pad int, start int64) error {
	if at, err := checkFraming(framing, pad, true); err != nil {
		return r.fail(&Error{Offset: start + int64(at), Err: err})
	}
	rest, err := io.ReadAll(io.LimitReader(r.tap, maxTrailingZero+1))
	if err != nil {
		return r.fail(err)
	}
	if i := firstNonZero(rest); i >= 0 || len(rest) > maxTrailingZero {
		return r.fail(errorf("", r.tap.pos-int64(len(rest)), ErrFraming, "data after the end of the archive"))
	}
	return io.EOF
}

// Read reads the current member's stored bytes (compressed, for a zstd
// blob), failing at their end if they do not match their SHA-256.
func (r *Reader) Read(p []byte) (int, error) {
	if r.body == nil {
		return 0, io.EOF
	}
	return r.body.Read(p)
}

// takeStored reads the current member's stored bytes without checking
// their SHA-256: the caller checks them (Verify, on another core). They go
// into buf when it is the member's size, else to w.
func (r *Reader) takeStored(buf []byte, w io.Writer) error {
	if r.body == nil {
		return errors.New("archive: current member was read")
	}
	r.body = nil
	var err error
	if int64(len(buf)) == r.cur.Size {
		_, err = io.ReadFull(r.tr, buf)
	} else {
		var n int64
		n, err = io.CopyBuffer(w, r.tr, make([]byte, 1<<20))
		if err == nil && n != r.cur.Size {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		return r.fail(tarDataError(err, r.cur))
	}
	return nil
}

// skipStored reads past the current member's stored bytes without
// checking them: Verify checks them from the file.
func (r *Reader) skipStored() error {
	if r.body == nil {
		return errors.New("archive: current member was read")
	}
	r.body = nil
	buf := make([]byte, min(r.cur.Size, 1<<20))
	for left := r.cur.Size; left > 0; {
		n, err := r.tr.Read(buf[:min(left, int64(len(buf)))])
		left -= int64(n)
		if err == io.EOF && left > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && left > 0 {
			return r.fail(tarDataError(err, r.cur))
		}
	}
	return nil
}

// Blob returns a reader of the current blob member's content.
func (r *Reader) Blob() (io.Reader, error) {
	if r.cur == nil || r.cur.kind != KindBlob || r.body == nil {
		return nil, errors.New("archive: current member is not an unread blob")
	}
	plain, err := unseal(r.cur, r.body, r.header, &r.cfg)
	if err != nil {
		return nil, err
	}
	return blobContent(plain, r.cur, r.dec)
}

// Readable reports whether the current member's contents can be read: not
// when it is sealed and no identity was given.
func (r *Reader) Readable() bool {
	return r.cur != nil && (!r.cur.sealed || len(r.cfg.identities) > 0)
}

// Events returns the events of the current segment member. The segment is
// spooled (Parquet needs random access) and checked before it is decoded.
func (r *Reader) Events() (*Events, error) {
	if r.cur == nil || r.cur.kind != KindSegment || r.body == nil {
		return nil, errors.New("archive: current member is not an unread segment")
	}
	f, err := os.CreateTemp(r.tempDir, "ferry-segment-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	m := r.cur
	plain, err := unseal(m, r.body, r.header, &r.cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(plain, maxSegmentSize+1))
	if err == nil && n > maxSegmentSize {
		err = errorf(m.Name, m.offset, ErrTooLarge, "more than %d bytes", int64(maxSegmentSize))
	}
	if err == nil {
		_, err = io.Copy(io.Discard, r.body) // to the end, where the checksum is checked
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	sr := io.NewSectionReader(f, 0, n)
	return newEvents([]*memberInfo{m}, func(*memberInfo) (*io.SectionReader, func(), error) { return sr, func() {}, nil }, f.Close), nil
}

func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// tarError names what archive/tar found wrong, at which offset. At offset
// 0 the file is no tar at all, so not an archive: first (its first bytes)
// says what it looks like instead.
func tarError(err error, offset int64, first []byte) error {
	if offset == 0 {
		return errorf("", 0, ErrNotArchive, "it does not start with a tar header%s", looksLike(first))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf("", offset, ErrTruncated, "archive ends inside a tar header")
	}
	return errorf("", offset, ErrFraming, "%v", err)
}

// tarDataError names a failure to read a member's data.
func tarDataError(err error, m *memberInfo) error {
	if isArchiveError(err) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(m.Name, m.offset, ErrTruncated, "archive ends inside the member's data")
	}
	return errorf(m.Name, m.offset, ErrFraming, "read: %v", err)
}

// tapReader counts the bytes read through it and, while recording, keeps
// them (the framing between members, checked byte by byte).
type tapReader struct {
	r         io.Reader
	pos       int64
	recording bool
	buf       []byte
	overflow  bool
}

func (t *tapReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.recording {
		if len(t.buf)+n > maxPaxSize+4*blockSize {
			t.overflow = true
		} else {
			t.buf = append(t.buf, p[:n]...)
		}
	}
	t.pos += int64(n)
	return n, err
}

func (t *tapReader) record() { t.recording, t.buf, t.overflow = true, t.buf[:0], false }

func (t *tapReader) stop() ([]byte, bool) {
	t.recording = false
	return t.buf, t.overflow
}

// looksLike names a few kinds of file by their first bytes, for the
// message that refuses something that is not an archive.
func looksLike(first []byte) string {
	for _, k := range []struct{ magic, what string }{
		{"SQLite format 3\x00", "a SQLite database"},
		{"PK\x03\x04", "a zip file"},
		{"\x1f\x8b", "a gzip file"},
		{"\x28\xb5\x2f\xfd", "a zstd frame"},
		{"age-encryption.org/", "an age-encrypted file"},
		{"<?xml", "an XML file"},
	} {
		if strings.HasPrefix(string(first), k.magic) {
			return ": it is " + k.what
		}
	}
	return ""
}
