package archive

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; test with errors.Is. Errors returned by this package wrap
// one of them in an *Error that says which member and where.
var (
	ErrNotArchive   = errors.New("archive: not a ferry archive")
	ErrFraming      = errors.New("archive: malformed tar framing")
	ErrInsecureName = errors.New("archive: insecure member name")
	ErrChecksum     = errors.New("archive: checksum mismatch")
	ErrTruncated    = errors.New("archive: truncated")
	ErrTooLarge     = errors.New("archive: over a size limit")
	ErrManifest     = errors.New("archive: manifest does not match the archive")
	ErrCorrupt      = errors.New("archive: corrupt member")
	ErrVersion      = errors.New("archive: unsupported format version")
	ErrFeature      = errors.New("archive: unsupported feature")
)

// Error reports what is wrong with which member of an archive.
type Error struct {
	Member string // member name; "" for the archive as a whole
	Offset int64  // byte offset in the archive where the problem was found; -1 if unknown
	Err    error  // wraps one of the sentinel errors
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("archive: ")
	if e.Member != "" {
		b.WriteString("member " + e.Member + " ")
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "at offset %d", e.Offset)
	}
	msg := strings.TrimPrefix(e.Err.Error(), "archive: ")
	if b.Len() == len("archive: ") {
		return b.String() + msg
	}
	return strings.TrimSuffix(b.String(), " ") + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error wrapping sentinel with a formatted detail.
func errorf(member string, offset int64, sentinel error, format string, args ...any) *Error {
	return &Error{Member: member, Offset: offset, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// VersionError is returned for an archive whose major version this package
// cannot read. It names both versions so the user knows what to upgrade.
type VersionError struct {
	Archive string // the archive's format version, "MAJOR.MINOR"
	Reader  string // the version this package reads
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("archive is format %s; this reader reads format %s: upgrade ferry to read it", e.Archive, e.Reader)
}

func (e *VersionError) Unwrap() error { return ErrVersion }
