package archive

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
)

// memberRec is what a reader keeps of a member: from its tar header (or
// manifest entry) until the manifest is checked against it, and for a File
// for as long as it is open. Blobs are most of an archive's members, so a
// blob is kept as fixed-size values, which a recList stores out of memory,
// and its name and hex strings are rebuilt when it is opened; the few
// other members keep their memberInfo.
type memberRec struct {
	sum        [32]byte // SHA-256 of the stored bytes
	digest     [32]byte // a blob's content digest
	offset     int64    // where its data starts
	size       int64    // stored bytes
	content    int64    // a blob's content size
	compressed bool
	sealed     bool
	info       *memberInfo // a member other than a blob
}

func recOf(m *memberInfo) memberRec {
	if m.kind != KindBlob {
		return memberRec{offset: m.offset, size: m.Size, info: m}
	}
	r := memberRec{offset: m.offset, size: m.Size, content: *m.ContentSize, compressed: m.compressed, sealed: m.sealed}
	// Both were checked to be 64 lowercase hex digits.
	hex.Decode(r.sum[:], []byte(m.SHA256))
	hex.Decode(r.digest[:], []byte(m.digest))
	return r
}

func (r *memberRec) isBlob() bool { return r.info == nil }

// member returns the member's memberInfo, rebuilt for a blob.
func (r *memberRec) member() *memberInfo {
	if r.info != nil {
		return r.info
	}
	digest := hex.EncodeToString(r.digest[:])
	name := blobName(digest, r.compressed)
	if r.sealed {
		name += sealedSuffix
	}
	content := r.content
	return &memberInfo{
		MemberEntry: MemberEntry{Name: name, Size: r.size, SHA256: hex.EncodeToString(r.sum[:]), ContentSize: &content},
		kind:        KindBlob, digest: digest, compressed: r.compressed, sealed: r.sealed, offset: r.offset,
	}
}

// name is the member's name.
func (r *memberRec) name() string { return r.member().Name }

// is reports whether name is this member's name, without building a
// blob's name.
func (r *memberRec) is(name string) bool {
	if r.info != nil {
		return r.info.Name == name
	}
	plain, sealed := strings.CutSuffix(name, sealedSuffix)
	k, digest, compressed, _ := kindOf(plain)
	var d [32]byte
	return k == KindBlob && sealed == r.sealed && compressed == r.compressed &&
		decodeDigest(&d, digest) && d == r.digest
}

// hashIs reports whether sum, in hex, is the member's stored SHA-256.
func (r *memberRec) hashIs(sum string) bool {
	if r.info != nil {
		return r.info.SHA256 == sum
	}
	var d [32]byte
	return decodeDigest(&d, sum) && d == r.sum
}

func decodeDigest(d *[32]byte, s string) bool {
	if !IsDigest(s) {
		return false
	}
	hex.Decode(d[:], []byte(s))
	return true
}

// recList holds a reader's member records in archive order, at a fixed
// size each: in memory up to a megabyte, then in an unlinked temporary
// file. A reader's memory then does not grow with the number of members:
// it keeps 16 bytes a blob to find blobs by digest (and to catch one stored
// twice), and the memberInfo of the few members that are not blobs.
type recList struct {
	sp    *spool
	n     int
	infos []*memberInfo // the members other than blobs, in order
	keys  []blobKey     // the blobs, sorted by sortKeys
	// unsorted lists keep no keys: they are only read in order.
	unsorted bool
	// Blob totals, for the manifest's.
	blobs, content, stored int64
	buf                    [recSize]byte
}

// blobKey finds a blob's record: the first 8 bytes of its digest, then
// its position.
type blobKey struct {
	prefix uint64
	pos    int32
}

// recSize is a record's encoded size: sum, digest, offset, size, content,
// flags and the index of its memberInfo.
const recSize = 32 + 32 + 8 + 8 + 8 + 1 + 4

const (
	recBlob = 1 << iota
	recCompressed
	recSealed
)

func newRecList(tempDir string) *recList { return &recList{sp: newUnhashedSpool(tempDir, 1<<20)} }

func (l *recList) len() int { return l.n }

// add appends a member's record.
func (l *recList) add(r memberRec) error {
	b := l.buf[:]
	copy(b[0:32], r.sum[:])
	copy(b[32:64], r.digest[:])
	binary.LittleEndian.PutUint64(b[64:], uint64(r.offset))
	binary.LittleEndian.PutUint64(b[72:], uint64(r.size))
	binary.LittleEndian.PutUint64(b[80:], uint64(r.content))
	var flags byte
	info := -1
	if r.isBlob() {
		flags |= recBlob
		if !l.unsorted {
			l.keys = append(l.keys, blobKey{binary.BigEndian.Uint64(r.digest[:8]), int32(l.n)})
		}
		l.blobs, l.content, l.stored = l.blobs+1, l.content+r.content, l.stored+r.size
	} else {
		info = len(l.infos)
		l.infos = append(l.infos, r.info)
	}
	if r.compressed {
		flags |= recCompressed
	}
	if r.sealed {
		flags |= recSealed
	}
	b[88] = flags
	binary.LittleEndian.PutUint32(b[89:], uint32(int32(info)))
	if _, err := l.sp.Write(b); err != nil {
		return fmt.Errorf("archive: keep the list of members: %w", err)
	}
	l.sp.dropBuffer() // once in the file, records stay there
	l.n++
	return nil
}

// at returns the record of member i.
func (l *recList) at(i int) (memberRec, error) {
	b := make([]byte, recSize)
	if _, err := l.sp.ReadAt(b, int64(i)*recSize); err != nil {
		return memberRec{}, fmt.Errorf("archive: read the list of members: %w", err)
	}
	return l.decode(b), nil
}

// decode decodes a record as add encoded it.
func (l *recList) decode(b []byte) memberRec {
	var r memberRec
	copy(r.sum[:], b[0:32])
	copy(r.digest[:], b[32:64])
	r.offset = int64(binary.LittleEndian.Uint64(b[64:]))
	r.size = int64(binary.LittleEndian.Uint64(b[72:]))
	r.content = int64(binary.LittleEndian.Uint64(b[80:]))
	r.compressed, r.sealed = b[88]&recCompressed != 0, b[88]&recSealed != 0
	if b[88]&recBlob == 0 {
		r.info = l.infos[int32(binary.LittleEndian.Uint32(b[89:]))]
	}
	return r
}

// records reads the records in order, each as its encoded bytes, which
// are valid until the next call, and decoded.
func (l *recList) records() func() ([]byte, memberRec, error) {
	rd := bufio.NewReaderSize(io.NewSectionReader(l.sp, 0, int64(l.n)*recSize), 64<<10)
	b := make([]byte, recSize)
	return func() ([]byte, memberRec, error) {
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, memberRec{}, fmt.Errorf("archive: read the list of members: %w", err)
		}
		return b, l.decode(b), nil
	}
}

// sortKeys sorts the blobs by digest, once all are added, and returns the
// position of a blob stored a second time (the later one), or -1.
func (l *recList) sortKeys() (dup int, err error) {
	l.keys = append([]blobKey(nil), l.keys...) // without the room append left
	slices.SortFunc(l.keys, func(a, b blobKey) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for i := 1; i < len(l.keys); i++ {
		if l.keys[i].prefix != l.keys[i-1].prefix {
			continue
		}
		// The same first 8 bytes: compare with every earlier one of them.
		r, err := l.at(int(l.keys[i].pos))
		if err != nil {
			return -1, err
		}
		for j := i - 1; j >= 0 && l.keys[j].prefix == l.keys[i].prefix; j-- {
			o, err := l.at(int(l.keys[j].pos))
			if err != nil {
				return -1, err
			}
			if o.digest == r.digest {
				return int(l.keys[i].pos), nil
			}
		}
	}
	return -1, nil
}

// find returns the record of the blob with this hex digest, once the keys
// are sorted.
func (l *recList) find(digest string) (memberRec, bool) {
	var d [32]byte
	if !decodeDigest(&d, digest) {
		return memberRec{}, false
	}
	prefix := binary.BigEndian.Uint64(d[:8])
	i, _ := slices.BinarySearchFunc(l.keys, prefix, func(k blobKey, p uint64) int { return cmp.Compare(k.prefix, p) })
	for ; i < len(l.keys) && l.keys[i].prefix == prefix; i++ {
		r, err := l.at(int(l.keys[i].pos))
		if err == nil && r.digest == d {
			return r, true
		}
	}
	return memberRec{}, false
}

// release frees the temporary file.
func (l *recList) release() { l.sp.release() }
