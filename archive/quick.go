package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
	f := &File{ra: ra, size: size, byName: map[string]*memberInfo{}, members: newRecList(""), dec: newDecoder(), cfg: readOptions(opts)}
	ok := false
	defer func() {
		if !ok {
			f.members.release()
		}
	}()
	first, start, dataSize, err := f.readEnds(findManifest)
	if err != nil {
		return nil, err
	}
	data := func() io.Reader { return io.NewSectionReader(ra, start+blockSize, dataSize) }
	if err := checkManifestSums(data(), dataSize, nil); err != nil {
		return nil, err
	}
	// No manifestRaw: only an archive without trailers (so without a
	// signature to check against it) opens this way.
	var (
		prevEnd int64
		kept    []MemberEntry
	)
	entry := func(e *MemberEntry) error {
		if e.Offset == 0 {
			return errNoQuickOpen
		}
		m, err := checkMember(*e, e.Offset)
		if err != nil {
			return err
		}
		i := f.members.len()
		switch {
		case i == 0 && (m.kind != KindHeader || e.Offset != first.offset || e.SHA256 != first.SHA256):
			return errorf(e.Name, e.Offset, ErrManifest, "the manifest's first member is not the header member")
		case e.Offset < prevEnd+blockSize || e.Offset%blockSize != 0 || e.Offset+e.Size > start:
			return errorf(e.Name, e.Offset, ErrManifest, "manifest places the member's %d bytes at byte %d, outside the space between its neighbours", e.Size, e.Offset)
		case f.byName[e.Name] != nil:
			return errorf(e.Name, e.Offset, ErrManifest, "listed twice in the manifest")
		case m.kind == KindManifest || m.kind == KindTrailer:
			return errorf(e.Name, e.Offset, ErrManifest, "the manifest lists %s among the members", e.Name)
		case (m.kind == KindSegment || m.kind == KindBlob) && m.sealed != f.header.Encrypted():
			return errorf(e.Name, e.Offset, ErrFraming, "encrypted and plain members do not match the header")
		case m.kind == KindUnknown && !e.Optional:
			return errorf(e.Name, e.Offset, ErrFeature, "member is not known to format %s readers and not marked optional: upgrade ferry", Version)
		}
		prevEnd = e.Offset + e.Size
		if m.kind != KindBlob {
			kept = append(kept, m.MemberEntry)
		}
		return f.add(m)
	}
	if f.manifest, err = decodeManifest(data(), f.header, entry); err != nil {
		return nil, err
	}
	f.manifest.Members = kept
	if dup, err := f.members.sortKeys(); err != nil {
		return nil, err
	} else if dup >= 0 {
		r, err := f.members.at(dup)
		if err != nil {
			return nil, err
		}
		s := r.member()
		return nil, errorf(s.Name, s.offset, ErrManifest, "listed twice in the manifest")
	}
	ok = true
	return f, nil
}

// readEnds reads and checks the header member, which comes first, and
// finds the manifest with find: where its tar header starts and the size
// of its data.
func (f *File) readEnds(find func(io.ReaderAt, int64) (int64, int64, error)) (first *memberInfo, start, dataSize int64, err error) {
	// The header member comes first.
	sr := newHeaderReader(f.ra, f.size)
	hdr, err := tar.NewReader(sr).Next()
	if err != nil {
		return nil, 0, 0, tarError(err, 0, firstBytes(f.ra))
	}
	pos, _ := sr.Seek(0, io.SeekCurrent)
	if first, err = memberFromHeader(hdr, pos); err != nil {
		return nil, 0, 0, err
	}
	framing := make([]byte, pos)
	if _, err := f.ra.ReadAt(framing, 0); err != nil {
		return nil, 0, 0, errorf(hdr.Name, 0, ErrTruncated, "read headers: %v", err)
	}
	if at, err := checkFraming(framing, 0, false); err != nil {
		return nil, 0, 0, &Error{Member: hdr.Name, Offset: int64(at), Err: err}
	}
	if first.kind != KindHeader {
		return nil, 0, 0, errorf(hdr.Name, 0, ErrFraming, "the first member is %s, want %s", hdr.Name, HeaderName)
	}
	if err := f.readHeader(first); err != nil {
		return nil, 0, 0, err
	}
	if start, dataSize, err = find(f.ra, f.size); err != nil {
		return nil, 0, 0, err
	}
	return first, start, dataSize, nil
}

// findManifest finds the manifest at the end of an archive: the archive
// ends with two zero blocks after the manifest's padded data. It returns
// where the manifest's header block starts and the size of its data.
func findManifest(ra io.ReaderAt, size int64) (start, dataSize int64, err error) {
	return manifestBefore(ra, size, 0)
}

// findManifestBefore finds the manifest at the end of an archive, or
// before the trailers (a signature) that follow it.
func findManifestBefore(ra io.ReaderAt, size int64) (start, dataSize int64, err error) {
	return manifestBefore(ra, size, maxTrailers)
}

// manifestBefore walks back from the end of an archive over at most
// trailers trailer members to the manifest.
func manifestBefore(ra io.ReaderAt, size int64, trailers int) (start, dataSize int64, err error) {
	end, err := archiveEnd(ra, size)
	if err != nil {
		return 0, 0, err
	}
	for range trailers + 1 {
		start, dataSize, name, err := lastJSONMember(ra, end)
		if err != nil {
			return 0, 0, err
		}
		if name == ManifestName {
			return start, dataSize, nil
		}
		if !strings.HasPrefix(name, trailerPrefix) {
			return 0, 0, errNoQuickOpen // another layout
		}
		end = paxStart(ra, start)
	}
	return 0, 0, errNoQuickOpen // trailers this walk does not pass
}

// maxTrailers bounds the trailers findManifestBefore walks back over.
const maxTrailers = 8

// archiveEnd checks the end-of-archive blocks and returns where they start.
func archiveEnd(ra io.ReaderAt, size int64) (int64, error) {
	end := size - 2*blockSize
	if end < 2*blockSize || size%blockSize != 0 {
		return 0, errNoQuickOpen
	}
	tail := make([]byte, 2*blockSize)
	if _, err := ra.ReadAt(tail, end); err != nil {
		return 0, errorf("", end, ErrTruncated, "read the end of the archive: %v", err)
	}
	if i := firstNonZero(tail); i >= 0 {
		return 0, errorf("", end+int64(i), ErrFraming, "non-zero end-of-archive block")
	}
	return end, nil
}

// paxStart returns where the pax header of the member whose tar header
// starts at start begins: a typeflag 'x' header whose records fill the
// blocks up to start. Without one, it returns start.
func paxStart(ra io.ReaderAt, start int64) int64 {
	blk := make([]byte, blockSize)
	for j := int64(1); j <= 4; j++ {
		at := start - (j+1)*blockSize
		if at < 0 {
			break
		}
		if _, err := ra.ReadAt(blk, at); err != nil {
			break
		}
		if _, err := checkHeaderBlock(blk); err != nil || blk[156] != tar.TypeXHeader {
			continue
		}
		size, err := strconv.ParseInt(strings.Trim(string(blk[124:136]), " \x00"), 8, 64)
		if err == nil && size > (j-1)*blockSize && size <= j*blockSize {
			return at
		}
	}
	return start
}

// lastJSONMember finds the member whose data ends the archive at end, when
// that data is JSON (so without NUL bytes), as the manifest and the
// trailers are: its tar header is the nearest block before the
// data that holds a NUL. It returns where that header block starts, the
// size of the data and the member's name. The search reads backwards a
// window at a time, so memory does not grow with the member.
func lastJSONMember(ra io.ReaderAt, end int64) (start, dataSize int64, name string, err error) {
	// The last data block ends with the member's '\n' (or '}') and zero padding.
	last := make([]byte, blockSize)
	if _, err := ra.ReadAt(last, end-blockSize); err != nil {
		return 0, 0, "", errorf(ManifestName, end-blockSize, ErrTruncated, "read the end of the archive: %v", err)
	}
	n := bytes.LastIndexFunc(last, func(r rune) bool { return r != 0 })
	if n < 0 || last[n] != '\n' && last[n] != '}' {
		return 0, 0, "", errNoQuickOpen
	}
	dataEnd := end - blockSize + int64(n) + 1
	const window = 1 << 20
	buf := make([]byte, window)
	for to := end - blockSize; to > 0; {
		from := max(0, to-window)
		blk := buf[:to-from]
		if _, err := ra.ReadAt(blk, from); err != nil {
			return 0, 0, "", errorf(ManifestName, from, ErrTruncated, "read the end of the archive: %v", err)
		}
		for b := len(blk) - blockSize; b >= 0; b -= blockSize {
			if bytes.IndexByte(blk[b:b+blockSize], 0) < 0 {
				continue // the member's data
			}
			start := from + int64(b)
			if at, err := checkHeaderBlock(blk[b : b+blockSize]); err != nil {
				return 0, 0, "", &Error{Member: ManifestName, Offset: start + int64(at), Err: err}
			}
			hdr, err := tar.NewReader(bytes.NewReader(blk[b : b+blockSize])).Next()
			if err != nil || hdr.Typeflag != tar.TypeReg || hdr.Size != dataEnd-start-blockSize {
				return 0, 0, "", errNoQuickOpen // not a JSON member last: another layout
			}
			if hdr.Size > maxManifestSize {
				return 0, 0, "", errorf(hdr.Name, start, ErrTooLarge, "%d bytes exceed the limit of %d", hdr.Size, int64(maxManifestSize))
			}
			return start, hdr.Size, hdr.Name, nil
		}
		if end-from > maxManifestSize+2*blockSize {
			return 0, 0, "", errNoQuickOpen
		}
		to = from
	}
	return 0, 0, "", errNoQuickOpen
}

// firstBytes returns up to a block of the file's first bytes.
func firstBytes(ra io.ReaderAt) []byte {
	b := make([]byte, blockSize)
	n, _ := ra.ReadAt(b, 0)
	return b[:n]
}
