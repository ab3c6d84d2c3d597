package archive

import (
	"crypto/sha256"
	"errors"
	"io"
	"os"
)

// ErrNoIdentity says that Identify cannot name an archive's contents by its
// ends alone: its last members are not the manifest and trailers.
var ErrNoIdentity = errors.New("archive: the archive cannot be identified by its header and manifest alone")

// Identify names the contents of the archive file at path without reading
// its members: it reads the header member and the manifest (found at the
// end, before any trailers), checking each against its SHA-256, and
// returns the header and a digest of both. A signature does not change the
// contents, so it is not part of the digest. The
// manifest lists every member's SHA-256, so two archives with the same
// digest describe the same contents. It does not check that the members
// match the manifest: a cache keyed by the digest holds what was checked
// when it was filled (inspect's), and Verify checks the archive itself.
func Identify(path string) (Header, string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Header{}, "", err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return Header{}, "", err
	}
	f := &File{ra: fh, size: st.Size()}
	first, start, dataSize, err := f.readEnds(findManifestBefore)
	if err == errNoQuickOpen {
		err = ErrNoIdentity
	}
	if err != nil {
		return Header{}, "", err
	}
	data := io.NewSectionReader(fh, start+blockSize, dataSize)
	if err := checkManifestSums(data, dataSize, nil); err != nil {
		return Header{}, "", err
	}
	// The manifest ends with its own checksum, just checked: that names
	// its contents without hashing them twice.
	sum := make([]byte, manifestSuffixLen)
	if _, err := data.ReadAt(sum, dataSize-int64(manifestSuffixLen)); err != nil {
		return Header{}, "", errorf(ManifestName, start, ErrTruncated, "read: %v", err)
	}
	h := sha256.New()
	io.WriteString(h, "ferry archive identity\x00"+first.SHA256+"\x00")
	h.Write(sum)
	return *f.header, hexSum(h.Sum(nil)), nil
}
