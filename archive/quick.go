package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
)

// OpenQuick opens the archive file at path by its manifest alone: it reads
// the header member, finds the manifest at the end of the file (spec §5.3)
// and takes every member's position from it, without walking the tar
// headers of the members in between. Opening then costs time in the size
// of the manifest, not in the number of members, which matters for
// archives of many blobs. Members are still checked against their SHA-256
// when read. The tar framing between members is not checked: Verify and
// Open do that.
//
// Archives whose manifest does not record positions (format 1.0), or that
// end with trailer members, are opened with Open instead.
func OpenQuick(path string, opts ...ReadOption) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := newQuickFile(fh, st.Size(), opts)
	if err == errNoQuickOpen {
		f, err = NewFile(fh, st.Size(), opts...)
	}
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// errNoQuickOpen says that an archive cannot be opened by its manifest alone.
var errNoQuickOpen = fmt.Errorf("archive: the manifest does not locate the members")

func newQuickFile(ra io.ReaderAt, size int64, opts []ReadOption) (*File, error) {
	f := &File{ra: ra, size: size, byName: map[string]*memberInfo{}, blobs: map[string]*memberInfo{}, dec: newDecoder(), cfg: readOptions(opts)}
	// The header member comes first.
	sr := newHeaderReader(ra, size)
	hdr, err := tar.NewReader(sr).Next()
	if err != nil {
		return nil, tarError(err, 0)
	}
	pos, _ := sr.Seek(0, io.SeekCurrent)
	first, err := memberFromHeader(hdr, pos)
	if err != nil {
		return nil, err
	}
	framing := make([]byte, pos)
	if _, err := ra.ReadAt(framing, 0); err != nil {
		return nil, errorf(hdr.Name, 0, ErrTruncated, "read headers: %v", err)
	}
	if at, err := checkFraming(framing, 0, false); err != nil {
		return nil, &Error{Member: hdr.Name, Offset: int64(at), Err: err}
	}
	if first.kind != KindHeader {
		return nil, errorf(hdr.Name, 0, ErrFraming, "the first member is %s, want %s", hdr.Name, HeaderName)
	}
	if err := f.readHeader(first); err != nil {
		return nil, err
	}
	data, start, err := findManifest(ra, size)
	if err != nil {
		return nil, err
	}
	if f.manifest, err = decodeManifest(data, f.header); err != nil {
		return nil, err
	}
	// No manifestRaw: only an archive without trailers (so without a
	// signature to check against it) opens this way.
	prevEnd := int64(0)
	for i, e := range f.manifest.Members {
		if e.Offset == 0 {
			return nil, errNoQuickOpen
		}
		m, err := checkMember(e, e.Offset)
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0 && (m.kind != KindHeader || e.Offset != first.offset || e.SHA256 != first.SHA256):
			return nil, errorf(e.Name, e.Offset, ErrManifest, "the manifest's first member is not the header member")
		case e.Offset < prevEnd+blockSize || e.Offset%blockSize != 0 || e.Offset+e.Size > start:
			return nil, errorf(e.Name, e.Offset, ErrManifest, "manifest places the member's %d bytes at byte %d, outside the space between its neighbours", e.Size, e.Offset)
		case func() bool { _, dup := f.member(e.Name); return dup }():
			return nil, errorf(e.Name, e.Offset, ErrManifest, "listed twice in the manifest")
		case m.kind == KindManifest || m.kind == KindTrailer:
			return nil, errorf(e.Name, e.Offset, ErrManifest, "the manifest lists %s among the members", e.Name)
		case (m.kind == KindSegment || m.kind == KindBlob) && m.sealed != f.header.Encrypted():
			return nil, errorf(e.Name, e.Offset, ErrFraming, "encrypted and plain members do not match the header")
		case m.kind == KindUnknown && !e.Optional:
			return nil, errorf(e.Name, e.Offset, ErrFeature, "member is not known to format %s readers and not marked optional: upgrade ferry", Version)
		}
		prevEnd = e.Offset + e.Size
		f.add(m)
	}
	return f, nil
}

// findManifest finds the manifest's data at the end of an archive: the
// archive ends with two zero blocks after the manifest's padded data, and
// the manifest (JSON, so without NUL bytes) follows its own tar header, the
// nearest block before it that holds a NUL. It returns the data and where
// the manifest's header block starts.
func findManifest(ra io.ReaderAt, size int64) ([]byte, int64, error) {
	end := size - 2*blockSize // the end-of-archive blocks
	if end < 2*blockSize || size%blockSize != 0 {
		return nil, 0, errNoQuickOpen
	}
	tail := make([]byte, 2*blockSize)
	if _, err := ra.ReadAt(tail, end); err != nil {
		return nil, 0, errorf("", end, ErrTruncated, "read the end of the archive: %v", err)
	}
	if i := firstNonZero(tail); i >= 0 {
		return nil, 0, errorf("", end+int64(i), ErrFraming, "non-zero end-of-archive block")
	}
	for window := int64(64 << 10); ; window *= 2 {
		from := max(0, end-window)
		from -= from % blockSize
		buf := make([]byte, end-from)
		if _, err := ra.ReadAt(buf, from); err != nil {
			return nil, 0, errorf(ManifestName, from, ErrTruncated, "read the end of the archive: %v", err)
		}
		// The last data block ends with the manifest's '\n' and zero padding.
		last := buf[len(buf)-blockSize:]
		n := bytes.LastIndexFunc(last, func(r rune) bool { return r != 0 })
		if n < 0 || last[n] != '\n' {
			return nil, 0, errNoQuickOpen
		}
		dataEnd := end - blockSize + int64(n) + 1
		for b := int64(len(buf)) - 2*blockSize; b >= 0; b -= blockSize {
			blk := buf[b : b+blockSize]
			if bytes.IndexByte(blk, 0) < 0 {
				continue // manifest data
			}
			start := from + b
			if at, err := checkHeaderBlock(blk); err != nil {
				return nil, 0, &Error{Member: ManifestName, Offset: start + int64(at), Err: err}
			}
			hdr, err := tar.NewReader(bytes.NewReader(blk)).Next()
			if err != nil || hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg || hdr.Size != dataEnd-start-blockSize {
				return nil, 0, errNoQuickOpen // not a manifest last: trailers, or another layout
			}
			if hdr.Size > maxManifestSize {
				return nil, 0, errorf(ManifestName, start, ErrTooLarge, "manifest of %d bytes exceeds the limit of %d", hdr.Size, int64(maxManifestSize))
			}
			return buf[b+blockSize : int64(len(buf))-blockSize+int64(n)+1], start, nil
		}
		if from == 0 || window > maxManifestSize {
			return nil, 0, errNoQuickOpen
		}
	}
}
