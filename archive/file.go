package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// File reads an archive with random access. Opening it walks the tar
// headers (skipping member data), checks every framing byte, and checks the
// header and the manifest against the members found; members are then
// checked against their SHA-256 when they are read.
type File struct {
	ra          io.ReaderAt
	size        int64
	closer      io.Closer
	header      *Header
	manifest    *Manifest
	manifestRaw []byte
	members     *recList // in archive order, without manifest and trailers
	byName      map[string]*memberInfo
	trailers    []*memberInfo
	dec         *zstd.Decoder
	cfg         readConfig
}

// Open opens the archive file at path.
func Open(path string, opts ...ReadOption) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, err := NewFile(f, st.Size(), opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

// NewFile reads an archive of size bytes from ra. Opening an encrypted
// archive needs no identity (WithIdentities); reading its members does.
func NewFile(ra io.ReaderAt, size int64, opts ...ReadOption) (*File, error) {
	f := &File{ra: ra, size: size, byName: map[string]*memberInfo{}, members: newRecList(""), dec: newDecoder(), cfg: readOptions(opts)}
	if err := f.index(); err != nil {
		f.members.release()
		return nil, err
	}
	return f, nil
}

// index walks the tar headers and checks the header and manifest members.
func (f *File) index() error {
	sr := newHeaderReader(f.ra, f.size)
	tr := tar.NewReader(sr)
	var (
		order    memberOrder
		prev     *memberInfo
		prevEnd  int64
		manifest *memberInfo
	)
	for {
		hdr, err := tr.Next()
		pos, _ := sr.Seek(0, io.SeekCurrent)
		pad := 0
		if prev != nil {
			pad = padding(prev.Size)
		}
		if err == io.EOF {
			if err := f.checkEnd(prevEnd, pos, pad); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return tarError(err, prevEnd, firstBytes(f.ra))
		}
		if pos-prevEnd > maxPaxSize+4*blockSize {
			return errorf(hdr.Name, prevEnd, ErrTooLarge, "tar headers over %d bytes", maxPaxSize)
		}
		framing := make([]byte, pos-prevEnd)
		if _, err := sr.ReadAt(framing, prevEnd); err != nil {
			return errorf(hdr.Name, prevEnd, ErrTruncated, "read headers: %v", err)
		}
		if at, err := checkFraming(framing, pad, false); err != nil {
			return &Error{Member: hdr.Name, Offset: prevEnd + int64(at), Err: err}
		}
		m, err := memberFromHeader(hdr, pos)
		if err != nil {
			return err
		}
		if m.offset+m.Size > f.size {
			return errorf(m.Name, m.offset, ErrTruncated, "archive ends inside the member's data")
		}
		if err := order.check(m); err != nil {
			return err
		}
		switch m.kind {
		case KindHeader:
			if err := f.readHeader(m); err != nil {
				return err
			}
			order.sealed = f.header.Encrypted()
		case KindManifest:
			manifest = m
		case KindTrailer:
			f.trailers = append(f.trailers, m)
		}
		if m.kind != KindManifest && m.kind != KindTrailer {
			if err := f.add(m); err != nil {
				return err
			}
		}
		prev, prevEnd = m, m.offset+m.Size
	}
	if manifest == nil {
		return errorf("", f.size, ErrTruncated, "archive ends without %s", ManifestName)
	}
	if err := checkDuplicates(f.members); err != nil {
		return err
	}
	return f.readManifest(manifest)
}

func (f *File) checkEnd(prevEnd, pos int64, pad int) error {
	framing := make([]byte, pos-prevEnd)
	if _, err := f.ra.ReadAt(framing, prevEnd); err != nil {
		return errorf("", prevEnd, ErrTruncated, "read end of archive: %v", err)
	}
	if at, err := checkFraming(framing, pad, true); err != nil {
		return &Error{Offset: prevEnd + int64(at), Err: err}
	}
	if f.size-pos > maxTrailingZero {
		return errorf("", pos, ErrFraming, "%d bytes after the end of the archive", f.size-pos)
	}
	rest := make([]byte, f.size-pos)
	if _, err := f.ra.ReadAt(rest, pos); err != nil && err != io.EOF {
		return err
	}
	if i := firstNonZero(rest); i >= 0 {
		return errorf("", pos+int64(i), ErrFraming, "data after the end of the archive")
	}
	return nil
}

func (f *File) readHeader(m *memberInfo) error {
	data, err := readSmall(f.raw(m), m.Name, maxHeaderSize)
	if err != nil {
		return err
	}
	f.header, err = decodeHeader(data)
	return err
}

func (f *File) readManifest(m *memberInfo) error {
	var raw *bytes.Buffer
	if len(f.trailers) > 0 { // a signature, checked against these bytes
		raw = bytes.NewBuffer(make([]byte, 0, m.Size))
	}
	if err := checkManifestSums(f.raw(m), m.Size, writerOrNil(raw)); err != nil {
		return err
	}
	mf, err := checkManifest(io.NewSectionReader(f.ra, m.offset, m.Size), f.header, f.members)
	if err != nil {
		return err
	}
	f.manifest = mf
	if raw != nil {
		f.manifestRaw = raw.Bytes()
	}
	return nil
}

// writerOrNil returns b as an io.Writer, or nil when b is nil.
func writerOrNil(b *bytes.Buffer) io.Writer {
	if b == nil {
		return nil
	}
	return b
}

// raw returns a reader of m's stored bytes that fails at their end unless
// they match m's SHA-256.
func (f *File) raw(m *memberInfo) *checkedReader {
	return newCheckedReader(io.NewSectionReader(f.ra, m.offset, m.Size), m)
}

// add lists a member. Blobs are sorted by digest once all are listed.
func (f *File) add(m *memberInfo) error {
	if m.kind != KindBlob {
		f.byName[m.Name] = m
	}
	return f.members.add(recOf(m))
}

// blob finds a blob by its content digest.
func (f *File) blob(digest string) (*memberInfo, bool) {
	r, ok := f.members.find(digest)
	if !ok {
		return nil, false
	}
	return r.member(), true
}

// member finds a member by name.
func (f *File) member(name string) (*memberInfo, bool) {
	if m, ok := f.byName[name]; ok {
		return m, true
	}
	if k, digest, _, _ := kindOf(strings.TrimSuffix(name, sealedSuffix)); k == KindBlob {
		if r, ok := f.members.find(digest); ok && r.is(name) {
			return r.member(), true
		}
	}
	return nil, false
}

// Header returns the archive's header.
func (f *File) Header() Header { return *f.header }

// Manifest returns the archive's manifest.
func (f *File) Manifest() *Manifest { return f.manifest }

// Members lists the members in archive order, without the manifest. For
// an archive of many blobs, Walk holds less.
func (f *File) Members() []*Member {
	out := make([]*Member, 0, f.members.len()+len(f.trailers))
	f.Walk(func(m *Member) error { out = append(out, m); return nil })
	return out
}

// Walk calls fn for each member in archive order, without the manifest,
// until fn returns an error, which Walk returns.
func (f *File) Walk(fn func(*Member) error) error {
	for i := range f.members.len() {
		r, err := f.members.at(i)
		if err != nil {
			return err
		}
		if err := fn(publicMember(r.member())); err != nil {
			return err
		}
	}
	for _, m := range f.trailers {
		if err := fn(publicMember(m)); err != nil {
			return err
		}
	}
	return nil
}

// OpenMember returns a reader of a member's stored bytes, which fails at the
// end unless they match the member's SHA-256.
func (f *File) OpenMember(name string) (io.Reader, error) {
	m, ok := f.member(name)
	if !ok {
		return nil, fmt.Errorf("archive: no member %s", name)
	}
	return f.raw(m), nil
}

// HasBlob reports whether the archive holds a blob with this content digest.
func (f *File) HasBlob(digest string) bool { _, ok := f.members.find(digest); return ok }

// OpenBlob returns a reader of a blob's content, which fails at the end
// unless the content hashes to digest. (The content hash, with the zstd
// frame's own checks, covers the stored bytes too; Verify also hashes the
// stored bytes.) A compressed blob is decompressed in a goroutine while the
// caller reads, so decompressing and hashing use two cores. Close the
// reader, even after an error, before the next OpenBlob; concurrent
// readers must each use their own File.
func (f *File) OpenBlob(digest string) (io.ReadCloser, error) {
	m, ok := f.blob(digest)
	if !ok {
		return nil, fmt.Errorf("archive: no blob %s", digest)
	}
	var stored io.Reader = io.NewSectionReader(f.ra, m.offset, m.Size)
	stored, err := unseal(m, stored, f.header, &f.cfg)
	if err != nil {
		return nil, err
	}
	if !m.compressed || *m.ContentSize < pipeFrom {
		r, err := blobContent(stored, m, f.dec)
		return io.NopCloser(r), err
	}
	if err := f.dec.Reset(stored); err != nil {
		return nil, errorf(m.Name, m.offset, ErrCorrupt, "zstd: %v", err)
	}
	return &pipedBlob{contentReader: newContentReader(readAhead(f.dec), m)}, nil
}

// pipedBlob is a blob decompressed ahead by a goroutine.
type pipedBlob struct{ *contentReader }

// Close stops the goroutine and waits for it, so the File's decoder is free.
func (p *pipedBlob) Close() error {
	p.contentReader.r.(*io.LimitedReader).R.(*aheadReader).stop()
	return nil
}

// aheadReader reads src in a goroutine, a few large buffers ahead of the
// caller.
type aheadReader struct {
	full, free chan []byte
	cur, buf   []byte
	err        error // set by the goroutine before it closes full
	quit, done chan struct{}
}

const aheadBuffer = 1 << 20

// pipeFrom is the content size from which decompressing ahead pays for its
// goroutine and buffers.
const pipeFrom = 4 << 20

var aheadBuffers = sync.Pool{New: func() any { return make([]byte, aheadBuffer) }}

func readAhead(src io.Reader) *aheadReader {
	a := &aheadReader{full: make(chan []byte, 2), free: make(chan []byte, 3), quit: make(chan struct{}), done: make(chan struct{})}
	for i := 0; i < 3; i++ {
		a.free <- aheadBuffers.Get().([]byte)
	}
	go func() {
		defer close(a.done)
		defer close(a.full)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.quit:
				return
			}
			n, err := io.ReadFull(src, buf[:cap(buf)])
			if n > 0 {
				select {
				case a.full <- buf[:n]:
				case <-a.quit:
					return
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				a.err = err
				return
			}
		}
	}()
	return a
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		b, ok := <-a.full
		if !ok {
			if a.err != nil {
				return 0, a.err
			}
			return 0, io.EOF
		}
		a.cur, a.buf = b, b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

func (a *aheadReader) stop() {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	<-a.done
	for b := range a.full {
		aheadBuffers.Put(b[:cap(b)])
	}
	if a.buf != nil {
		aheadBuffers.Put(a.buf[:cap(a.buf)])
		a.buf = nil
	}
	for {
		select {
		case b := <-a.free:
			aheadBuffers.Put(b)
		default:
			return
		}
	}
}

// Segments lists the event segments in order.
func (f *File) Segments() []*Member {
	var out []*Member
	for _, m := range f.segments() {
		out = append(out, publicMember(m))
	}
	return out
}

func (f *File) segments() []*memberInfo {
	var segs []*memberInfo
	for _, m := range f.members.infos {
		if m.kind == KindSegment {
			segs = append(segs, m)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].ordinal < segs[j].ordinal })
	return segs
}

// Events iterates over every event in the archive, in seq order. Each
// segment is hashed in full and checked before it is decoded.
func (f *File) Events() *Events {
	e := newEvents(f.segments(), f.verifiedSection, nil)
	e.listed = true
	return e
}

// verifiedSection hashes a member's bytes and returns their plaintext for
// random access, with a function that releases it.
func (f *File) verifiedSection(m *memberInfo) (*io.SectionReader, func(), error) {
	sr := io.NewSectionReader(f.ra, m.offset, m.Size)
	h := sha256.New()
	if _, err := io.Copy(h, sr); err != nil {
		return nil, nil, errorf(m.Name, m.offset, ErrTruncated, "read: %v", err)
	}
	if got := hexSum(h.Sum(nil)); got != m.SHA256 {
		return nil, nil, errorf(m.Name, m.offset, ErrChecksum, "stored bytes hash to %s, want %s", got, m.SHA256)
	}
	return f.plainSection(m, io.NewSectionReader(f.ra, m.offset, m.Size))
}

// OpenContent returns a reader of a member's contents: its stored bytes,
// decrypted when the archive is encrypted. Stored bytes are checked against
// their SHA-256 at their end, sealed ones also by age as they decrypt.
func (f *File) OpenContent(name string) (io.Reader, error) {
	m, ok := f.member(name)
	if !ok {
		return nil, fmt.Errorf("archive: no member %s", name)
	}
	return unseal(m, f.raw(m), f.header, &f.cfg)
}

// Close closes the underlying file, if Open opened it.
func (f *File) Close() error {
	f.dec.Close()
	f.members.release()
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}
