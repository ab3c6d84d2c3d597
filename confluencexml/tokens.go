package confluencexml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/orisano/gosax"
)

// decoder reads entities.xml's tokens with gosax, which scans 30 times as
// fast as encoding/xml (BenchmarkTokenizers), and checks what gosax does
// not: that elements close in the order they opened, that the file does
// not end inside one, that no entity but XML's own is used (gosax refuses
// others when it unescapes). It counts lines and bytes, for messages and
// for the cleaner, as encoding/xml's InputPos and InputOffset did.
type decoder struct {
	r      *gosax.Reader
	stack  []string
	line   int   // of the position after the last token
	offset int64 // bytes consumed
}

func newDecoder(r io.Reader) *decoder {
	g := gosax.NewReader(r)
	g.EmitSelfClosingTag = true // <x/>: a start, then an end over the same bytes
	return &decoder{r: g, line: 1}
}

func (d *decoder) InputPos() (int, int) { return d.line, 0 }
func (d *decoder) InputOffset() int64   { return d.offset }

var errMalformedTag = errors.New("a malformed tag")

// startElement reads a start tag; gosax panics on some malformed ones
// (an attribute value without its closing quote), which is an error here.
func startElement(b []byte) (t xml.StartElement, err error) {
	defer func() {
		if recover() != nil {
			t, err = xml.StartElement{}, errMalformedTag
		}
	}()
	t, err = gosax.StartElement(b)
	if err != nil {
		return t, fmt.Errorf("%w: %v", errMalformedTag, err)
	}
	if t.Name.Local == "" {
		return t, errMalformedTag
	}
	return t, nil
}

// Token returns the next start or end element, character data (text and
// CDATA alike) or directive; comments and processing instructions are
// passed over.
func (d *decoder) Token() (xml.Token, error) {
	for {
		e, err := d.r.Event()
		if err == io.EOF {
			// gosax ends a clean file with EventEOF; io.EOF as an error
			// means it ended inside a tag.
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if e.Type() != gosax.EventEnd || !bytes.HasSuffix(e.Bytes, []byte("/>")) { // (a self-closing tag's bytes count once)
			d.line += bytes.Count(e.Bytes, []byte{'\n'})
			d.offset += int64(len(e.Bytes))
		}
		switch e.Type() {
		case gosax.EventStart:
			t, err := startElement(e.Bytes)
			if err != nil {
				return nil, err
			}
			d.stack = append(d.stack, t.Name.Local)
			return t, nil
		case gosax.EventEnd:
			name := gosax.EndElement(e.Bytes).Name.Local
			if len(d.stack) == 0 || d.stack[len(d.stack)-1] != name {
				open := "nothing"
				if len(d.stack) > 0 {
					open = "<" + d.stack[len(d.stack)-1] + ">"
				}
				return nil, fmt.Errorf("</%s> closes %s: the XML is not well formed", truncate(name, 60), truncate(open, 60))
			}
			d.stack = d.stack[:len(d.stack)-1]
			return xml.EndElement{Name: xml.Name{Local: name}}, nil
		case gosax.EventText:
			text, err := gosax.CharData(e.Bytes)
			if err != nil {
				return nil, fmt.Errorf("text: %w", err)
			}
			return text, nil
		case gosax.EventCData:
			return xml.CharData(bytes.TrimSuffix(bytes.TrimPrefix(e.Bytes, []byte("<![CDATA[")), []byte("]]>"))), nil
		case gosax.EventDocType:
			return xml.Directive(strings.TrimSuffix(strings.TrimPrefix(string(e.Bytes), "<!"), ">")), nil
		case gosax.EventEOF:
			if len(d.stack) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		}
	}
}

// Skip reads to the end of the element just started.
func (d *decoder) Skip() error {
	for depth := 1; depth > 0; {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}
