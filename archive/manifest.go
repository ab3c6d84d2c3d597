package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// The manifest lists every member, so it grows with the archive: about 200
// bytes of JSON a blob, tens of megabytes for a large site. Readers do not
// hold it. They check its checksums in one pass, then decode it as a stream
// in a second: each member entry is checked against the member in its
// position and dropped. Only the entries of members other than blobs are
// kept (in Manifest.Members): segments' row counts and seq ranges.

const manifestSuffixLen = len(checksumField) + 64 + 3

// manifestSums checks a manifest's own checksum (spec §3.4) as its bytes
// are written to it: the SHA-256 of all but the checksum suffix, which must
// match the suffix.
type manifestSums struct {
	prefix int64 // bytes the checksum covers
	n      int64
	h      hash.Hash
	suffix []byte
}

func newManifestSums(size int64) (*manifestSums, error) {
	if size < int64(manifestSuffixLen)+2 {
		return nil, errorf(ManifestName, -1, ErrTruncated, "manifest of %d bytes is too short", size)
	}
	return &manifestSums{prefix: size - int64(manifestSuffixLen), h: sha256.New()}, nil
}

func (s *manifestSums) Write(p []byte) (int, error) {
	n := len(p)
	if s.n < s.prefix {
		k := min(int64(len(p)), s.prefix-s.n)
		s.h.Write(p[:k])
		s.n += k
		p = p[k:]
	}
	s.suffix = append(s.suffix, p...)
	s.n += int64(len(p))
	return n, nil
}

func (s *manifestSums) check() error {
	if s.n != s.prefix+int64(manifestSuffixLen) || string(s.suffix) != checksumSuffix(s.h.Sum(nil)) {
		return errorf(ManifestName, -1, ErrChecksum, "manifest checksum does not match its contents")
	}
	return nil
}

// checkManifestSums reads a manifest's size stored bytes from r, a reader
// that checks them against their SHA-256 at the end, and checks its own
// checksum.
func checkManifestSums(r io.Reader, size int64, also io.Writer) error {
	sums, err := newManifestSums(size)
	if err != nil {
		return err
	}
	w := io.Writer(sums)
	if also != nil {
		w = io.MultiWriter(sums, also)
	}
	if n, err := io.Copy(w, io.LimitReader(r, maxManifestSize+1)); err != nil {
		return err
	} else if n > maxManifestSize {
		return errorf(ManifestName, -1, ErrTooLarge, "more than %d bytes", int64(maxManifestSize))
	}
	return sums.check()
}

// decodeManifest decodes a manifest whose checksums were checked, passing
// each member entry to entry in order, and checks that it names the
// archive of the header h. The Manifest returned has no Members: entry
// keeps those it needs.
func decodeManifest(r io.Reader, h *Header, entry func(e *MemberEntry) error) (*Manifest, error) {
	notJSON := func(err error) error {
		return errorf(ManifestName, -1, ErrCorrupt, "manifest is not JSON: %v", err)
	}
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil {
		return nil, notJSON(err)
	} else if t != json.Delim('{') {
		return nil, notJSON(errors.New("not an object"))
	}
	// Every field but the members is gathered and decoded at the end.
	rest := []byte{'{'}
	members := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, notJSON(err)
		}
		key, _ := t.(string)
		if !strings.EqualFold(key, "members") {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, notJSON(err)
			}
			if len(rest) > 1 {
				rest = append(rest, ',')
			}
			k, _ := json.Marshal(key)
			rest = append(append(append(rest, k...), ':'), v...)
			continue
		}
		if members {
			return nil, errorf(ManifestName, -1, ErrManifest, "the manifest lists its members twice")
		}
		members = true
		if err := decodeEntries(dec, entry); err != nil {
			return nil, err
		}
	}
	if err := closing(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, notJSON(errors.New("data after the manifest's object"))
	}
	var m Manifest
	if err := json.Unmarshal(append(rest, '}'), &m); err != nil {
		return nil, notJSON(err)
	}
	if m.Format != h.Format || m.Version != h.Version || m.ArchiveID != h.ArchiveID {
		return nil, errorf(ManifestName, -1, ErrManifest, "manifest names %s %s archive %s, header names %s %s archive %s",
			m.Format, m.Version, m.ArchiveID, h.Format, h.Version, h.ArchiveID)
	}
	return &m, nil
}

func decodeEntries(dec *json.Decoder, entry func(e *MemberEntry) error) error {
	t, err := dec.Token()
	if err != nil {
		return errorf(ManifestName, -1, ErrCorrupt, "manifest is not JSON: %v", err)
	}
	if t == nil {
		return nil // "members": null, as an empty list
	}
	if t != json.Delim('[') {
		return errorf(ManifestName, -1, ErrCorrupt, "manifest members are not a list")
	}
	for dec.More() {
		var e MemberEntry
		if err := dec.Decode(&e); err != nil {
			return errorf(ManifestName, -1, ErrCorrupt, "manifest is not JSON: %v", err)
		}
		if err := entry(&e); err != nil {
			return err
		}
	}
	return closing(dec, ']')
}

// closing reads the delimiter that must close an object or a list.
func closing(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && t != want {
		err = fmt.Errorf("%v where %v closes", t, want)
	}
	if err != nil {
		return errorf(ManifestName, -1, ErrCorrupt, "manifest is not JSON: %v", err)
	}
	return nil
}

// manifestCheck checks, one entry at a time, that the manifest lists
// exactly the members seen, in order, with the same sizes and hashes; then
// (done) that its blob and event totals add up.
type manifestCheck struct {
	seen   *recList
	n      int             // entries checked
	listed map[string]bool // names of the members other than blobs listed so far
	rows   int64
	// A member whose entry is not in its place: the rest of the manifest
	// is searched for it, to tell a member missing from the manifest from
	// one listed elsewhere.
	misplaced      *memberRec
	misplacedEntry string
	misplacedAt    int
	misplacedFound bool
	// keep receives the entries of members other than blobs, with the
	// member they matched.
	keep func(e *MemberEntry, m *memberInfo)
}

func (c *manifestCheck) entry(e *MemberEntry) error {
	i := c.n
	c.n++
	c.rows += e.Rows
	if c.misplaced != nil {
		c.misplacedFound = c.misplacedFound || c.misplaced.is(e.Name)
		return nil
	}
	if c.listed[e.Name] {
		return errorf(e.Name, -1, ErrManifest, "listed twice in the manifest")
	}
	var s memberRec
	if i < c.seen.len() {
		var err error
		if s, err = c.seen.at(i); err != nil {
			return err
		}
	}
	if i >= c.seen.len() || !s.is(e.Name) {
		// Every entry before this one matched the member in its place.
		for j := range min(i, c.seen.len()) {
			r, err := c.seen.at(j)
			if err != nil {
				return err
			}
			if r.is(e.Name) {
				return errorf(e.Name, -1, ErrManifest, "listed twice in the manifest")
			}
		}
		if i >= c.seen.len() {
			return errorf(e.Name, -1, ErrManifest, "listed in the manifest but not in the archive")
		}
		c.misplaced, c.misplacedEntry, c.misplacedAt = &s, e.Name, i
		return nil
	}
	if !s.isBlob() {
		if c.listed == nil {
			c.listed = map[string]bool{}
		}
		c.listed[e.Name] = true
	}
	if s.size != e.Size || !s.hashIs(e.SHA256) {
		return errorf(e.Name, s.offset, ErrManifest, "archive has %d bytes with sha256 %s, manifest says %d bytes with sha256 %s", s.size, s.member().SHA256, e.Size, e.SHA256)
	}
	if e.Offset != 0 && e.Offset != s.offset {
		return errorf(e.Name, s.offset, ErrManifest, "manifest says the member's data starts at byte %d, it starts at %d", e.Offset, s.offset)
	}
	if s.isBlob() {
		if e.ContentSize == nil || *e.ContentSize != s.content {
			return errorf(e.Name, s.offset, ErrManifest, "manifest content size differs from the member's (%d)", s.content)
		}
		return nil
	}
	if s.info.kind == KindUnknown && !e.Optional {
		return errorf(e.Name, s.offset, ErrFeature, "member is not known to format %s readers and not marked optional: upgrade ferry", Version)
	}
	if c.keep != nil {
		c.keep(e, s.info)
	}
	return nil
}

// done finishes the check once the whole manifest m has been decoded.
func (c *manifestCheck) done(m *Manifest) error {
	if s := c.misplaced; s != nil {
		if !c.misplacedFound {
			return errorf(s.name(), s.offset, ErrManifest, "in the archive but not in the manifest")
		}
		return errorf(c.misplacedEntry, -1, ErrManifest, "manifest entry %d is %s, archive member %d is %s", c.misplacedAt+1, c.misplacedEntry, c.misplacedAt+1, s.name())
	}
	if c.n < c.seen.len() {
		s, err := c.seen.at(c.n)
		if err != nil {
			return err
		}
		return errorf(s.name(), s.offset, ErrManifest, "in the archive but not in the manifest")
	}
	if l := c.seen; l.blobs != m.Blobs.Count || l.content != m.Blobs.ContentBytes || l.stored != m.Blobs.StoredBytes {
		return errorf(ManifestName, -1, ErrManifest, "blob totals (%d blobs, %d bytes, %d stored) differ from the members' (%d, %d, %d)",
			m.Blobs.Count, m.Blobs.ContentBytes, m.Blobs.StoredBytes, l.blobs, l.content, l.stored)
	}
	var byType int64
	for _, n := range m.Events.ByType {
		byType += n
	}
	if c.rows != m.Events.Count || byType != m.Events.Count {
		return errorf(ManifestName, -1, ErrManifest, "event count %d differs from the segments' rows (%d) or the counts by type (%d)", m.Events.Count, c.rows, byType)
	}
	return nil
}

// checkManifest decodes a checked manifest from r and checks it against
// the members seen. The Manifest returned lists the entries of the members
// other than blobs, sharing their strings, and those members take their
// rows, seq range and optional flag from it.
func checkManifest(r io.Reader, h *Header, seen *recList) (*Manifest, error) {
	c, kept := newManifestCheck(seen)
	m, err := decodeManifest(r, h, c.entry)
	if err != nil {
		return nil, err
	}
	if err := c.done(m); err != nil {
		return nil, err
	}
	m.Members = *kept
	return m, nil
}

// newManifestCheck starts checking a manifest against the members seen;
// kept gathers the entries a checked Manifest lists.
func newManifestCheck(seen *recList) (c *manifestCheck, kept *[]MemberEntry) {
	kept = new([]MemberEntry)
	return &manifestCheck{seen: seen, keep: func(e *MemberEntry, m *memberInfo) {
		m.Rows, m.FirstSeq, m.LastSeq, m.Optional = e.Rows, e.FirstSeq, e.LastSeq, e.Optional
		e.Name, e.SHA256 = m.Name, m.SHA256
		*kept = append(*kept, *e)
	}}, kept
}

// checkListed is checkManifest for a manifest decoded before the members
// were seen (Verify's ReadAhead): its entries, as records in listed, are
// checked against the members seen. A blob whose record is the same as
// the member's, byte for byte, matches without its entry being rebuilt.
func checkListed(listed *recList, decoded *Manifest, seen *recList) (*Manifest, error) {
	c, kept := newManifestCheck(seen)
	nextListed, nextSeen := listed.records(), seen.records()
	for i := range listed.len() {
		raw, r, err := nextListed()
		if err != nil {
			return nil, err
		}
		if c.misplaced == nil && i < seen.len() {
			sraw, _, err := nextSeen()
			if err != nil {
				return nil, err
			}
			if r.isBlob() && bytes.Equal(raw, sraw) {
				c.n++
				continue
			}
		}
		var e MemberEntry
		if r.isBlob() {
			e = r.member().MemberEntry
			e.Offset = r.offset
		} else {
			e = r.info.MemberEntry
		}
		if err := c.entry(&e); err != nil {
			return nil, err
		}
	}
	m := *decoded
	if err := c.done(&m); err != nil {
		return nil, err
	}
	m.Members = *kept
	return &m, nil
}

// checkDuplicates sorts the blobs of l by digest, failing if one is
// stored twice.
func checkDuplicates(l *recList) error {
	dup, err := l.sortKeys()
	if err != nil || dup < 0 {
		return err
	}
	s, err := l.at(dup)
	if err != nil {
		return err
	}
	m := s.member()
	return errorf(m.Name, m.offset, ErrFraming, "blob %s stored twice", m.digest)
}
