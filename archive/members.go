package archive

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
)

// memberRec is what a reader keeps of a member: from its tar header (or
// manifest entry) until the manifest is checked against it, and for a File
// for as long as it is open. Blobs are most of an archive's members, so a
// blob is kept as fixed-size values, about a hundred bytes, and its name
// and hex strings are rebuilt when it is opened; the few other members keep
// their memberInfo. At 200,000 blobs that is 20 MB instead of 90.
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

// blobIndex finds blobs by content digest: the positions of the blob
// records, sorted by digest, at four bytes a blob.
type blobIndex []int32

// indexBlobs indexes the blobs among recs. It returns, as dup, the
// position of a blob stored a second time (the later one), or -1.
func indexBlobs(recs []memberRec) (x blobIndex, dup int) {
	for i := range recs {
		if recs[i].isBlob() {
			x = append(x, int32(i))
		}
	}
	slices.SortFunc(x, func(a, b int32) int {
		if c := bytes.Compare(recs[a].digest[:], recs[b].digest[:]); c != 0 {
			return c
		}
		return int(a - b)
	})
	for i := 1; i < len(x); i++ {
		if recs[x[i]].digest == recs[x[i-1]].digest {
			return x, int(x[i])
		}
	}
	return x, -1
}

// find returns the position of the blob with this hex digest.
func (x blobIndex) find(recs []memberRec, digest string) (int, bool) {
	var d [32]byte
	if !decodeDigest(&d, digest) {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(x, d, func(p int32, d [32]byte) int { return bytes.Compare(recs[p].digest[:], d[:]) })
	if !ok {
		return 0, false
	}
	return int(x[i]), true
}
