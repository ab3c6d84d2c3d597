package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Checks shared by Reader and File: what a member's tar header must say,
// how its bytes are checked, and how the manifest must match the archive.

// memberInfo is what the tar header and pax records say about a member.
type memberInfo struct {
	MemberEntry
	kind       Kind
	digest     string // blob content digest
	compressed bool   // blob stored as zstd
	ordinal    int    // segment ordinal
	sealed     bool   // encrypted with age (name ends in .age)
	offset     int64  // where its data starts in the archive
}

// memberFromHeader checks a tar header against spec §2 and §3.
func memberFromHeader(hdr *tar.Header, offset int64) (*memberInfo, error) {
	if err := checkName(hdr.Name); err != nil {
		return nil, errorf(hdr.Name, offset, ErrInsecureName, "%v", err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, errorf(hdr.Name, offset, ErrFraming, "entry type %q is not a regular file", hdr.Typeflag)
	}
	sum := hdr.PAXRecords[paxSHA256]
	if !IsDigest(sum) {
		return nil, errorf(hdr.Name, offset, ErrFraming, "pax record %s is %q, want 64 lowercase hex digits", paxSHA256, sum)
	}
	// Cloned: a PAX value is a substring of its whole header block, which
	// would otherwise stay in memory for as long as the member is listed.
	e := MemberEntry{Name: strings.Clone(hdr.Name), Size: hdr.Size, SHA256: strings.Clone(sum)}
	if k, _, _, _ := kindOf(strings.TrimSuffix(hdr.Name, sealedSuffix)); k == KindBlob {
		cs, err := strconv.ParseInt(hdr.PAXRecords[paxContentSize], 10, 64)
		if err != nil {
			return nil, errorf(hdr.Name, offset, ErrFraming, "pax record %s is %q, want a size of at most %d", paxContentSize, hdr.PAXRecords[paxContentSize], int64(maxBlobContent))
		}
		e.ContentSize = &cs
	}
	return checkMember(e, offset)
}

// checkMember checks what a member's tar header (or, for a File opened by
// its manifest, its manifest entry) says against spec §2 and §3: its name,
// kind, size limits and blob content size.
func checkMember(e MemberEntry, offset int64) (*memberInfo, error) {
	if err := checkName(e.Name); err != nil {
		return nil, errorf(e.Name, offset, ErrInsecureName, "%v", err)
	}
	if !IsDigest(e.SHA256) {
		return nil, errorf(e.Name, offset, ErrFraming, "sha256 is %q, want 64 lowercase hex digits", e.SHA256)
	}
	m := &memberInfo{MemberEntry: e, offset: offset}
	name, sealed := strings.CutSuffix(e.Name, sealedSuffix)
	m.kind, m.digest, m.compressed, m.ordinal = kindOf(name)
	if sealed && (m.kind == KindSegment || m.kind == KindBlob) {
		m.sealed = true
	} else if sealed {
		m.kind = KindUnknown
	}
	limit := int64(-1)
	switch m.kind {
	case KindHeader:
		limit = maxHeaderSize
	case KindManifest:
		limit = maxManifestSize
	case KindSegment:
		limit = maxSegmentSize
	case KindBlob:
		if e.ContentSize == nil || *e.ContentSize < 0 || *e.ContentSize > maxBlobContent {
			return nil, errorf(e.Name, offset, ErrFraming, "blob content size is missing or over %d", int64(maxBlobContent))
		}
		// A raw blob's stored bytes are its content: same size, same hash.
		if !m.compressed && !m.sealed && *e.ContentSize != e.Size {
			return nil, errorf(e.Name, offset, ErrCorrupt, "raw blob of %d bytes declares content size %d", e.Size, *e.ContentSize)
		}
		if !m.compressed && !m.sealed && e.SHA256 != m.digest {
			return nil, errorf(e.Name, offset, ErrChecksum, "raw blob's sha256 %s differs from the digest in its name", e.SHA256)
		}
	}
	if e.Size < 0 || limit >= 0 && e.Size > limit {
		return nil, errorf(e.Name, offset, ErrTooLarge, "%s of %d bytes exceeds the limit of %d", m.kind, e.Size, limit)
	}
	return m, nil
}

// checkedReader passes a member's stored bytes through and, at their end,
// fails with ErrChecksum unless they hash to the expected digest.
type checkedReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	name string
	n    int64
	size int64
	done bool  // the end was reached
	err  error // the verdict at the end, repeated to every later Read
}

func newCheckedReader(r io.Reader, m *memberInfo) *checkedReader {
	return &checkedReader{r: r, h: sha256.New(), want: m.SHA256, name: m.Name, size: m.Size}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.done {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		c.done = true
		if c.n != c.size {
			c.err = errorf(c.name, -1, ErrTruncated, "read %d of %d bytes", c.n, c.size)
		} else if got := hexSum(c.h.Sum(nil)); got != c.want {
			c.err = errorf(c.name, -1, ErrChecksum, "stored bytes hash to %s, want %s", got, c.want)
		}
		if c.err != nil {
			return n, c.err
		}
	}
	return n, err
}

// blobContent returns a reader of a blob's content from its stored bytes:
// decompressed when stored as zstd, never more than the declared content
// size, and failing at the end unless the content hashes to its name.
func blobContent(stored io.Reader, m *memberInfo, dec *zstd.Decoder) (io.Reader, error) {
	src := stored
	if m.compressed {
		if err := dec.Reset(stored); err != nil {
			return nil, errorf(m.Name, -1, ErrCorrupt, "zstd: %v", err)
		}
		src = dec
	}
	return newContentReader(src, m), nil
}

func newContentReader(src io.Reader, m *memberInfo) *contentReader {
	return &contentReader{r: io.LimitReader(src, *m.ContentSize+1), h: sha256.New(), m: m}
}

type contentReader struct {
	r io.Reader
	h hash.Hash
	m *memberInfo
	n int64
}

func (c *contentReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > *c.m.ContentSize {
		return 0, errorf(c.m.Name, -1, ErrTooLarge, "content exceeds its declared size of %d bytes (decompression bomb?)", *c.m.ContentSize)
	}
	c.h.Write(p[:n])
	switch {
	case err == io.EOF && c.n != *c.m.ContentSize:
		return n, errorf(c.m.Name, -1, ErrCorrupt, "content is %d bytes, declared %d", c.n, *c.m.ContentSize)
	case err == io.EOF:
		if got := hexSum(c.h.Sum(nil)); got != c.m.digest {
			return n, errorf(c.m.Name, -1, ErrChecksum, "content hashes to %s, want %s", got, c.m.digest)
		}
	case err != nil && !isArchiveError(err):
		return n, errorf(c.m.Name, -1, ErrCorrupt, "decompress: %v", err)
	}
	return n, err
}

func isArchiveError(err error) bool {
	_, ok := err.(*Error)
	return ok
}

func newDecoder() *zstd.Decoder {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderConcurrency(1))
	if err != nil {
		panic(err) // only invalid options fail
	}
	return dec
}

// decodeHeader parses and checks header.json.
func decodeHeader(data []byte) (*Header, error) {
	var h Header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, errorf(HeaderName, -1, ErrNotArchive, "header is not JSON: %v", err)
	}
	if err := checkHeader(&h); err != nil {
		return nil, &Error{Member: HeaderName, Offset: -1, Err: err}
	}
	return &h, nil
}

// memberOrder checks where a member may stand (spec §3): the header first,
// segments in ordinal order, the manifest last but for trailers, one blob
// per content (checked by indexBlobs, once all are seen).
type memberOrder struct {
	count        int
	lastSegment  int
	manifestSeen bool
	sealed       bool            // the header requires age: segments and blobs are sealed
	trailers     map[string]bool // names of the trailers seen, which no manifest lists
}

func (o *memberOrder) check(m *memberInfo) error {
	o.count++
	switch {
	case o.count == 1 && m.kind != KindHeader:
		return errorf(m.Name, m.offset, ErrNotArchive, "first member is %s, want %s", m.Name, HeaderName)
	case o.count > 1 && m.kind == KindHeader:
		return errorf(m.Name, m.offset, ErrFraming, "second %s", HeaderName)
	case o.manifestSeen && m.kind != KindTrailer:
		return errorf(m.Name, m.offset, ErrFraming, "member after %s", ManifestName)
	case !o.manifestSeen && m.kind == KindTrailer:
		return errorf(m.Name, m.offset, ErrFraming, "trailer member before %s", ManifestName)
	}
	if (m.kind == KindSegment || m.kind == KindBlob) && m.sealed != o.sealed {
		if o.sealed {
			return errorf(m.Name, m.offset, ErrFraming, "the header says the archive is encrypted, this member is not")
		}
		return errorf(m.Name, m.offset, ErrFraming, "an encrypted member in an archive whose header does not require %q", FeatureAge)
	}
	switch m.kind {
	case KindTrailer:
		// Two of one name would let readers disagree on which counts
		// (one signature checked, another trusted): damage, for all.
		if o.trailers[m.Name] {
			return errorf(m.Name, m.offset, ErrFraming, "a second member named %s", m.Name)
		}
		if o.trailers == nil {
			o.trailers = map[string]bool{}
		}
		o.trailers[m.Name] = true
	case KindManifest:
		o.manifestSeen = true
	case KindSegment:
		if m.ordinal != o.lastSegment+1 {
			return errorf(m.Name, m.offset, ErrFraming, "segment %d follows segment %d", m.ordinal, o.lastSegment)
		}
		o.lastSegment = m.ordinal
	}
	return nil
}

// readSmall reads a small member (the header, a signature) whole, up to
// limit bytes.
func readSmall(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errorf(name, -1, ErrTooLarge, "more than %d bytes", limit)
	}
	return data, nil
}
