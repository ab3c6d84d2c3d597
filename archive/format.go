package archive

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format constants from spec/ARCHIVE.md.
const (
	FormatName   = "ferry-archive"
	VersionMajor = 1
	VersionMinor = 3

	HeaderName     = "header.json"
	ManifestName   = "manifest.json"
	segmentPrefix  = "events/"
	segmentSuffix  = ".parquet"
	blobPrefix     = "blobs/"
	blobZstdSuffix = ".zst"
	trailerPrefix  = "trailer/"

	paxSHA256      = "SCHILY.xattr.user.ferry.sha256"
	paxContentSize = "SCHILY.xattr.user.ferry.content-size"

	maxHeaderSize   = 1 << 20
	maxManifestSize = 512 << 20
	maxNameLen      = 255
	maxPaxSize      = 64 << 10
	maxTrailingZero = 1 << 20
	maxBlobContent  = 1 << 40
	maxSegmentSize  = 4 << 30
	maxColumnChunk  = 2 << 30

	// RowGroupRows is the row count of every row group but a segment's last.
	RowGroupRows = 122_880
	// rowGroupMaxBytes closes a row group early when payloads are huge.
	rowGroupMaxBytes = 128 << 20
	// segmentRowGroups and segmentMaxBytes bound one segment. Two row
	// groups, not more: a segment is written when it closes, so with fewer
	// and bigger segments the last one came after every blob, and verify
	// decoded it with one core idle (verify at 40,000 pages: 0.90-1.01 s
	// with eight row groups, 0.80-0.84 s with two; inspect unchanged).
	segmentRowGroups = 2
	segmentMaxBytes  = 512 << 20
)

// Version is this package's format version, "MAJOR.MINOR".
var Version = fmt.Sprintf("%d.%d", VersionMajor, VersionMinor)

// knownFeatures are the values of Header.Requires this reader understands.
var knownFeatures = map[string]bool{}

// Header is the content of header.json, the first member.
type Header struct {
	Format    string    `json:"format"`
	Version   string    `json:"version"`
	ArchiveID string    `json:"archive_id"`
	ParentID  string    `json:"parent_id"`
	Producer  Producer  `json:"producer"`
	Created   time.Time `json:"created"`
	Source    Source    `json:"source"`
	Requires  []string  `json:"requires,omitempty"`
	// Encryption is set when Requires lists "age" (spec §3.5).
	Encryption *Encryption `json:"encryption,omitempty"`
}

// Producer names the program that wrote an archive.
type Producer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source describes where an archive's data came from.
type Source struct {
	Kind     string `json:"kind"`     // "embedded", "cloud", "xml", ...
	Location string `json:"location"` // a path or URL
	SiteID   string `json:"site_id"`
	// Visibility says whether the reader saw all of the source: "full",
	// or "limited" with Limits saying what it could not see. Archives
	// before 1.3 leave it out: not recorded.
	Visibility string `json:"visibility,omitempty"`
	Limits     string `json:"limits,omitempty"`
}

// Manifest is the content of manifest.json, the last member.
type Manifest struct {
	Format    string        `json:"format"`
	Version   string        `json:"version"`
	ArchiveID string        `json:"archive_id"`
	Members   []MemberEntry `json:"members"`
	Events    EventStats    `json:"events"`
	Blobs     BlobStats     `json:"blobs"`
	Watermark string        `json:"watermark"`
	Redaction *Redaction    `json:"redaction,omitempty"` // set on redacted copies (since 1.2)
}

// Redaction records what a redacted copy of an archive replaced.
type Redaction struct {
	Source string   `json:"source_archive_id"` // the archive it was made from
	Fields []string `json:"fields"`            // what was replaced or removed, e.g. "emails"
	KeyID  string   `json:"key_id"`            // names the pseudonym key (not the key itself)
}

// MemberEntry is one member as the manifest lists it.
type MemberEntry struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Rows        int64  `json:"rows,omitempty"`
	FirstSeq    int64  `json:"first_seq,omitempty"`
	LastSeq     int64  `json:"last_seq,omitempty"`
	ContentSize *int64 `json:"content_size,omitempty"`
	Optional    bool   `json:"optional,omitempty"`
	Offset      int64  `json:"offset,omitempty"` // of its data in the archive file (format 1.1)
}

// EventStats counts an archive's events.
type EventStats struct {
	Count    int64            `json:"count"`
	FirstSeq int64            `json:"first_seq"`
	LastSeq  int64            `json:"last_seq"`
	ByType   map[string]int64 `json:"by_type"`
	Digest   string           `json:"digest"`            // canonical digest of the events (spec §3.4)
	Columns  []Column         `json:"columns,omitempty"` // producer columns in every segment (spec §3.2)
}

// BlobStats counts an archive's blobs.
type BlobStats struct {
	Count        int64 `json:"count"`
	ContentBytes int64 `json:"content_bytes"`
	StoredBytes  int64 `json:"stored_bytes"`
}

// Kind is what a member is, derived from its name.
type Kind int

const (
	KindUnknown Kind = iota
	KindHeader
	KindManifest
	KindSegment
	KindBlob
	KindTrailer
)

func (k Kind) String() string {
	return [...]string{"extension", "header", "manifest", "segment", "blob", "trailer"}[k]
}

// kindOf classifies a member name. For blobs it also returns the content
// digest and whether the blob is zstd-compressed; for segments, the ordinal.
func kindOf(name string) (k Kind, digest string, compressed bool, ordinal int) {
	switch {
	case name == HeaderName:
		return KindHeader, "", false, 0
	case name == ManifestName:
		return KindManifest, "", false, 0
	case strings.HasPrefix(name, trailerPrefix):
		return KindTrailer, "", false, 0
	case strings.HasPrefix(name, segmentPrefix) && strings.HasSuffix(name, segmentSuffix):
		digits := strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix)
		n, err := strconv.Atoi(digits)
		if len(digits) == 8 && err == nil && n > 0 && isDigits(digits) {
			return KindSegment, "", false, n
		}
	case strings.HasPrefix(name, blobPrefix):
		rest := strings.TrimPrefix(name, blobPrefix)
		compressed = strings.HasSuffix(rest, blobZstdSuffix)
		rest = strings.TrimSuffix(rest, blobZstdSuffix)
		if IsDigest(rest) {
			return KindBlob, rest, compressed, 0
		}
	}
	return KindUnknown, "", false, 0
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsDigest reports whether s is 64 lowercase hex digits, the form of every
// SHA-256 in an archive.
func IsDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func segmentName(ordinal int) string {
	return fmt.Sprintf("%s%08d%s", segmentPrefix, ordinal, segmentSuffix)
}

func blobName(digest string, compressed bool) string {
	if compressed {
		return blobPrefix + digest + blobZstdSuffix
	}
	return blobPrefix + digest
}

// checkName enforces the member name rules of spec §2 rule 5.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInsecureName)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: name longer than %d bytes", ErrInsecureName, maxNameLen)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInsecureName, name)
	case strings.ContainsAny(name, "\\\x00"):
		return fmt.Errorf("%w: %q contains a backslash or NUL", ErrInsecureName, name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("%w: %q is not a clean relative path", ErrInsecureName, name)
		}
	}
	return nil
}

// parseVersion splits "MAJOR.MINOR".
func parseVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if ok && isDigits(a) && isDigits(b) && a != "" && b != "" && len(a) < 6 && len(b) < 6 {
		major, _ = strconv.Atoi(a)
		minor, _ = strconv.Atoi(b)
		return major, minor, nil
	}
	return 0, 0, fmt.Errorf("%w: version %q is not MAJOR.MINOR", ErrNotArchive, v)
}

// checkHeader decides whether this reader can read an archive with header h.
func checkHeader(h *Header) error {
	if h.Format != FormatName {
		return fmt.Errorf("%w: format is %q, want %q", ErrNotArchive, h.Format, FormatName)
	}
	major, _, err := parseVersion(h.Version)
	if err != nil {
		return err
	}
	if major != VersionMajor {
		return &VersionError{Archive: h.Version, Reader: fmt.Sprintf("%d.x", VersionMajor)}
	}
	for _, f := range h.Requires {
		if !knownFeatures[f] {
			if f == "age" {
				return fmt.Errorf("%w: the archive is encrypted (requires %q); this ferry cannot decrypt archives: upgrade ferry", ErrFeature, f)
			}
			return fmt.Errorf("%w: the archive requires feature %q, unknown to format %s readers: upgrade ferry", ErrFeature, f, Version)
		}
	}
	return nil
}

func hexSum(sum []byte) string { return hex.EncodeToString(sum) }
