package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// Encryption (spec §3.5): every member but header.json, manifest.json and
// trailers is sealed with age for the archive's recipients. Sealed members
// keep their names with ".age" added; their pax and manifest SHA-256 are of
// the ciphertext, so integrity can be checked without a key.

const (
	// FeatureAge is the Header.Requires entry of encrypted archives.
	FeatureAge   = "age"
	sealedSuffix = ".age"
)

func init() { knownFeatures[FeatureAge] = true }

// ErrEncrypted means an archive's contents cannot be read without an age
// identity of one of its recipients.
var ErrEncrypted = errors.New("archive is encrypted")

// Encryption says how an archive is encrypted and for whom.
type Encryption struct {
	Scheme     string   `json:"scheme"`     // "age"
	Recipients []string `json:"recipients"` // age public keys ("age1...")
}

// WithRecipients encrypts the archive's members for these age recipients:
// any one of their identities can read it.
func WithRecipients(rs ...age.Recipient) Option {
	return func(w *Writer) { w.recipients = rs }
}

// ReadOption configures how an archive is read.
type ReadOption func(*readConfig)

type readConfig struct {
	identities []age.Identity
	ahead      io.ReaderAt // see ReadAhead
	aheadSize  int64
}

// WithIdentities gives the age identities that decrypt an encrypted
// archive. Archives that are not encrypted ignore them.
func WithIdentities(ids ...age.Identity) ReadOption {
	return func(c *readConfig) { c.identities = append(c.identities, ids...) }
}

func readOptions(opts []ReadOption) readConfig {
	var c readConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// recipientNames lists recipients as the header records them.
func recipientNames(rs []age.Recipient) []string {
	var names []string
	for _, r := range rs {
		if s, ok := r.(fmt.Stringer); ok {
			names = append(names, s.String())
		} else {
			names = append(names, fmt.Sprintf("%T", r))
		}
	}
	return names
}

// sealMember encrypts a member's stored bytes into sp and returns the entry
// and reader of the sealed member.
func sealMember(e MemberEntry, body io.Reader, sp *spool, rs []age.Recipient) (MemberEntry, io.Reader, error) {
	sp.Reset()
	enc, err := age.Encrypt(sp, rs...)
	if err != nil {
		return e, nil, fmt.Errorf("archive: encrypt %s: %w", e.Name, err)
	}
	if _, err := io.Copy(enc, body); err != nil {
		return e, nil, fmt.Errorf("archive: encrypt %s: %w", e.Name, err)
	}
	if err := enc.Close(); err != nil {
		return e, nil, fmt.Errorf("archive: encrypt %s: %w", e.Name, err)
	}
	r, err := sp.Reader()
	if err != nil {
		return e, nil, err
	}
	e.Name += sealedSuffix
	e.Size, e.SHA256 = sp.Size(), sp.Digest()
	return e, r, nil
}

// unseal returns the plaintext of a member's stored bytes: stored itself
// when the member is not sealed.
func unseal(m *memberInfo, stored io.Reader, h *Header, c *readConfig) (io.Reader, error) {
	if !m.sealed {
		return stored, nil
	}
	if len(c.identities) == 0 {
		return nil, encryptedError(h, "give an age identity of one of them (--identity FILE)")
	}
	r, err := age.Decrypt(stored, c.identities...)
	if err != nil {
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) {
			return nil, encryptedError(h, "none of the identities given is one of them")
		}
		return nil, errorf(m.Name, m.offset, ErrCorrupt, "decrypt: %v", err)
	}
	return r, nil
}

func encryptedError(h *Header, what string) error {
	var rcpts []string
	if h.Encryption != nil {
		rcpts = h.Encryption.Recipients
	}
	return fmt.Errorf("%w for %s: %s", ErrEncrypted, strings.Join(rcpts, ", "), what)
}

// Encrypted reports whether the archive's members are sealed with age.
func (h *Header) Encrypted() bool {
	for _, f := range h.Requires {
		if f == FeatureAge {
			return true
		}
	}
	return false
}

// CheckIdentities tells whether the identities given when the File was
// opened decrypt it: nil for an archive that is not encrypted, else an
// ErrEncrypted error saying for whom it is encrypted.
func (f *File) CheckIdentities() error {
	for i := range f.members.len() {
		r, err := f.members.at(i)
		if err != nil {
			return err
		}
		if m := r.member(); m.sealed {
			_, err := unseal(m, io.NewSectionReader(f.ra, m.offset, m.Size), f.header, &f.cfg)
			return err
		}
	}
	return nil
}

// plainSection returns a member's plaintext for random access: the stored
// bytes themselves, or for a sealed member its decryption in an unlinked
// temporary file, which release closes.
func (f *File) plainSection(m *memberInfo, stored *io.SectionReader) (*io.SectionReader, func(), error) {
	if !m.sealed {
		return stored, func() {}, nil
	}
	plain, err := unseal(m, stored, f.header, &f.cfg)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.CreateTemp("", "ferry-segment-*")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(plain, maxSegmentSize+1))
	if err == nil && n > maxSegmentSize {
		err = errorf(m.Name, m.offset, ErrTooLarge, "decrypts to more than %d bytes", int64(maxSegmentSize))
	}
	if err != nil {
		tmp.Close()
		return nil, nil, errorf(m.Name, m.offset, ErrCorrupt, "decrypt: %v", err)
	}
	return io.NewSectionReader(tmp, 0, n), func() { tmp.Close() }, nil
}
