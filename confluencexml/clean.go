package confluencexml

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Confluence writes characters XML 1.0 forbids: control characters pasted
// into titles and bodies (U+0008, U+0002, ...), as raw bytes inside CDATA
// and text, or as character references; and now and then bytes that are
// not UTF-8. A strict XML parser stops at the first (encoding/xml did,
// and the whole conversion with it). cleaner sits under the decoder and replaces each with U+FFFD
// (a reference with &#xFFFD;), noting where in its output it did, so that
// the parse can say which object had what replaced. Confluence Cloud's
// storage format is XML too, so none of them could be kept there.

type replacement struct {
	offset int64 // in the cleaned stream
	char   rune  // what was there; utf8.RuneError for a byte that is not UTF-8
}

type cleaner struct {
	r        io.Reader
	buf      []byte
	in       []byte // read, not yet cleaned (a sequence cut by the end of a read)
	out      []byte // cleaned, not yet returned
	produced int64  // bytes cleaned so far
	eof      bool
	cdata    bool // in a CDATA section, where &# is text
	comment  bool // in a comment, where it is too
	repl     []replacement
	dropped  int // replacements over maxNoted, counted only
}

// maxNoted bounds the replacements remembered between two objects: a file
// of nothing but control characters must not fill memory with notes.
const maxNoted = 10000

func newCleaner(r io.Reader) *cleaner { return &cleaner{r: r, buf: make([]byte, 64<<10)} }

func (c *cleaner) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof && len(c.in) == 0 {
			return 0, io.EOF
		}
		if !c.eof {
			n, err := c.r.Read(c.buf)
			c.in = append(c.in, c.buf[:n]...)
			if err == io.EOF {
				c.eof = true
			} else if err != nil {
				return 0, err
			}
		}
		c.clean()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// lookahead is the most a decision needs to see: "<![CDATA[", a
// character reference, a UTF-8 sequence.
const lookahead = 16

var fffd = []byte("\uFFFD")

func (c *cleaner) emit(b []byte) {
	c.out = append(c.out, b...)
	c.produced += int64(len(b))
}

func (c *cleaner) replace(with []byte, char rune) {
	if len(c.repl) < maxNoted {
		c.repl = append(c.repl, replacement{offset: c.produced, char: char})
	} else {
		c.dropped++
	}
	c.emit(with)
}

// special marks the ASCII bytes that need a look: control characters
// but tab, newline and return, and those that may start a reference, a
// comment or CDATA, or end one. Runs of the others are copied whole.
var special = func() (s [utf8.RuneSelf]bool) {
	for b := range 0x20 {
		s[b] = b != '\t' && b != '\n' && b != '\r'
	}
	s['&'], s['<'], s[']'], s['-'] = true, true, true, true
	return s
}()

func (c *cleaner) clean() {
	in := c.in
	i := 0
	for i < len(in) {
		j := i
		for j < len(in) && in[j] < utf8.RuneSelf && !special[in[j]] {
			j++
		}
		if j > i {
			c.emit(in[i:j])
			i = j
			continue
		}
		if !c.eof && len(in)-i < lookahead {
			break // wait for the rest of what may be a sequence
		}
		rest := in[i:]
		switch {
		case c.comment && bytes.HasPrefix(rest, []byte("-->")):
			c.comment = false
			c.emit(rest[:3])
			i += 3
			continue
		case !c.cdata && !c.comment && bytes.HasPrefix(rest, []byte("<!--")):
			c.comment = true
			c.emit(rest[:4])
			i += 4
			continue
		case c.cdata && bytes.HasPrefix(rest, []byte("]]>")):
			c.cdata = false
			c.emit(rest[:3])
			i += 3
			continue
		case !c.cdata && !c.comment && bytes.HasPrefix(rest, []byte("<![CDATA[")):
			c.cdata = true
			c.emit(rest[:9])
			i += 9
			continue
		case !c.cdata && !c.comment && len(rest) > 1 && rest[0] == '&' && rest[1] == '#':
			if n, code, ok := charRef(rest); ok {
				if legal(code) {
					c.emit(rest[:n])
				} else {
					c.replace([]byte("&#xFFFD;"), code)
				}
				i += n
				continue
			}
		}
		b := in[i]
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				c.replace(fffd, rune(b))
			} else {
				c.emit(in[i : i+1])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(rest)
		switch {
		case r == utf8.RuneError && size <= 1:
			c.replace(fffd, utf8.RuneError)
			i++
		case !legal(r):
			c.replace(fffd, r)
			i += size
		default:
			c.emit(rest[:size])
			i += size
		}
	}
	c.in = append(c.in[:0], in[i:]...)
}

// charRef reads a character reference (&#N; or &#xH;) at the start of b:
// its length and code point; ok is false for anything else, which the
// decoder judges.
func charRef(b []byte) (int, rune, bool) {
	end := bytes.IndexByte(b, ';')
	if end < 3 || end > 12 {
		return 0, 0, false
	}
	digits, base := string(b[2:end]), 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	var code int64
	for _, d := range digits {
		var v int64
		switch {
		case d >= '0' && d <= '9':
			v = int64(d - '0')
		case base == 16 && d >= 'a' && d <= 'f':
			v = int64(d-'a') + 10
		case base == 16 && d >= 'A' && d <= 'F':
			v = int64(d-'A') + 10
		default:
			return 0, 0, false
		}
		if code = code*int64(base) + v; code > 0x10FFFF {
			return 0, 0, false
		}
	}
	if digits == "" {
		return 0, 0, false
	}
	return end + 1, rune(code), true
}

// legal says whether XML 1.0 allows a character.
func legal(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// take describes, and forgets, the replacements made before offset in
// the cleaned stream ("" if none).
func (c *cleaner) take(offset int64) string {
	n := 0
	for n < len(c.repl) && c.repl[n].offset < offset {
		n++
	}
	if n == 0 && c.dropped == 0 {
		return ""
	}
	counts := map[rune]int{}
	for _, r := range c.repl[:n] {
		counts[r.char]++
	}
	total := n + c.dropped
	c.repl = append(c.repl[:0], c.repl[n:]...)
	c.dropped = 0
	var parts []string
	for _, char := range slices.Sorted(maps.Keys(counts)) {
		name := fmt.Sprintf("U+%04X", char)
		if char == utf8.RuneError {
			name = "a byte that is not UTF-8"
		}
		if counts[char] > 1 {
			name += fmt.Sprintf(" ×%d", counts[char])
		}
		parts = append(parts, name)
	}
	return fmt.Sprintf("%d character(s) XML cannot hold (%s)", total, strings.Join(parts, ", "))
}
