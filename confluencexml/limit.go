package confluencexml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// A tokenizer reads a whole token (a tag with its attributes, a comment,
// a run of text) into memory before it returns it (encoding/xml did; gosax
// grows its window to hold it), so a limit checked on
// the token comes too late: a 1 MB zip holding a 1 GiB attribute used
// gigabytes first. tokenLimiter sits under the decoder and follows just
// enough of XML's lexical structure (markup, quoted attribute values,
// comments, processing instructions, CDATA sections, text) to stop any
// one token at its limit as the bytes arrive.

// Limits on one token (variables so tests can lower them).
var (
	maxMarkup = 64 << 10 // a tag with its attributes, a comment, a PI, a directive
	// maxText is one run of text or one CDATA section; an object's text
	// in all is maxObject. Bodies past 16 MiB cannot be archived, so
	// anything much longer is damage, not content.
	maxText = 32 << 20
)

// ErrTokenTooLarge is a token over its limit.
var ErrTokenTooLarge = errors.New("an XML token over its size limit")

type lexState int

const (
	inText      lexState = iota
	inTag                // <name ...> or </name>, outside quotes
	inQuote              // an attribute value, up to quote
	inComment            // <!-- ... -->
	inPI                 // <? ... ?>
	inCDATA              // <![CDATA[ ... ]]>
	inDirective          // <!DOCTYPE ...>, <!ELEMENT ...>
	inBang               // <! not yet known to be a comment, CDATA or a directive
)

type tokenLimiter struct {
	r     io.Reader
	state lexState
	quote byte
	run   int    // bytes of the current token
	tail  []byte // the last bytes of <!..., a comment, a PI or CDATA: how it starts and ends
	err   error
}

func newTokenLimiter(r io.Reader) *tokenLimiter { return &tokenLimiter{r: r} }

func (t *tokenLimiter) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if i, e := t.scan(p[:n]); e != nil {
		t.err = e
		// Hand over what came before the token that broke the limit;
		// the decoder then meets the error.
		return i, e
	}
	return n, err
}

// scan follows p through the lexer. Inside text, an attribute value, a
// comment, a PI or CDATA only one byte can end the state, so it skips to
// the next of those (bytes.IndexByte is fast); the rest goes byte by byte.
func (t *tokenLimiter) scan(p []byte) (int, error) {
	for i := 0; i < len(p); {
		var end byte
		switch t.state {
		case inText:
			end = '<'
		case inQuote:
			end = t.quote
		case inComment:
			end = '-'
		case inPI:
			end = '?'
		case inCDATA:
			end = ']'
		}
		// After part of a terminator ("--", "]]", "?"), the next byte
		// decides: no skipping then.
		partial := (t.state == inComment || t.state == inPI || t.state == inCDATA) && len(t.tail) > 0 && t.tail[len(t.tail)-1] == end
		if end != 0 && !partial {
			j := bytes.IndexByte(p[i:], end)
			if j < 0 {
				j = len(p) - i
			}
			if j > 0 {
				t.run += j - 1 // step counts the last one
				i += j - 1
				if err := t.step(p[i]); err != nil {
					return i, err
				}
				i++
				continue
			}
		}
		if err := t.step(p[i]); err != nil {
			return i, err
		}
		i++
	}
	return len(p), nil
}

// step advances the lexer by one byte.
func (t *tokenLimiter) step(c byte) error {
	t.run++
	switch t.state {
	case inText:
		if c == '<' {
			t.state, t.run = inTag, 1
			return nil
		}
	case inTag:
		switch {
		case t.run == 2 && c == '?':
			t.state, t.tail = inPI, t.tail[:0]
		case t.run == 2 && c == '!':
			t.state, t.tail = inBang, append(t.tail[:0], '<', '!')
		case c == '"' || c == '\'':
			t.state, t.quote = inQuote, c
		case c == '>':
			t.state, t.run = inText, 0
			return nil
		}
	case inQuote:
		if c == t.quote {
			t.state = inTag
		}
	case inBang: // <!-- or <![CDATA[ or a directive: which, once it differs
		t.tail = append(t.tail, c)
		switch {
		case bytes.Equal(t.tail, commentStart):
			t.state, t.tail = inComment, t.tail[:0]
		case bytes.Equal(t.tail, cdataStart):
			t.state, t.tail = inCDATA, t.tail[:0]
		case !bytes.HasPrefix(commentStart, t.tail) && !bytes.HasPrefix(cdataStart, t.tail):
			t.state = inDirective
			if c == '>' {
				t.state, t.run = inText, 0
				return nil
			}
		}
	case inComment, inPI, inCDATA:
		if len(t.tail) == 3 {
			t.tail[0], t.tail[1], t.tail = t.tail[1], t.tail[2], t.tail[:2]
		}
		t.tail = append(t.tail, c)
		if bytes.HasSuffix(t.tail, terminators[t.state]) {
			t.state, t.run = inText, 0
			return nil
		}
	case inDirective:
		if c == '>' {
			t.state, t.run = inText, 0
			return nil
		}
	}
	limit := maxMarkup
	if t.state == inText || t.state == inCDATA {
		limit = maxText
	}
	if t.run > limit {
		return fmt.Errorf("%w: %s over %d bytes", ErrTokenTooLarge, t.state, limit)
	}
	return nil
}

var (
	commentStart = []byte("<!--")
	cdataStart   = []byte("<![CDATA[")
	terminators  = map[lexState][]byte{inComment: []byte("-->"), inPI: []byte("?>"), inCDATA: []byte("]]>")}
)

func (s lexState) String() string {
	return [...]string{"text", "a tag", "an attribute value", "a comment", "a processing instruction", "a CDATA section", "a directive", "a directive"}[s]
}
