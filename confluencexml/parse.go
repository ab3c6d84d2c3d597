// Package confluencexml reads Confluence XML exports (the entities.xml of a
// space or site export from Server, Data Center or Cloud, with its
// attachments folder) into an embedded site, from which export writes an
// archive like any other.
//
// entities.xml is a flat list of <object class="..."> elements that refer
// to each other by id, in any order, and real ones are many gigabytes. So
// the parse is token by token, one object at a time, into an on-disk index
// (SQLite); references are resolved from the index, and memory stays flat
// whatever the export's size. What ferry's model has no place for is
// counted per class and reported, never silently dropped.
package confluencexml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Object is one <object> of entities.xml.
type Object struct {
	Class string            `json:"c"`
	ID    string            `json:"i"`
	Props map[string]string `json:"p,omitempty"` // simple properties
	Refs  map[string]Ref    `json:"r,omitempty"` // properties that name another object
	Colls map[string][]Ref  `json:"l,omitempty"` // collections of references
	Line  int               `json:"n"`           // where it starts, for messages
	// Replaced says what the parse replaced in it: characters XML 1.0
	// forbids (clean.go).
	Replaced string `json:"x,omitempty"`

	encoded []byte // the object as the index keeps it, once encoded
}

// Ref names another object.
type Ref struct {
	Class string `json:"c"`
	ID    string `json:"i"`
}

// Limits on hostile or damaged input (variables so tests can lower them;
// the limits on one token are in limit.go).
var (
	maxObject  = 64 << 20 // one object's text in all
	maxDepth   = 16
	maxRefList = 1 << 20 // references in one collection
)

// ParseError says where entities.xml is damaged.
type ParseError struct {
	Line   int
	Object string // class and id of the object being read, if any
	Err    error
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("entities.xml line %d", e.Line)
	if e.Object != "" {
		where += " (object " + truncate(e.Object, 120) + ")"
	}
	// Messages may quote what was found: never echo an untrusted value
	// unbounded.
	return where + ": " + truncate(e.Err.Error(), 300)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads entities.xml from r and calls each for every object, in
// document order. It holds one object at a time.
func Parse(r io.Reader, each func(*Object) error) error {
	c := newCleaner(r)
	d := newDecoder(newTokenLimiter(c)) // unknown entities are errors: no entity expansion at all
	fail := func(obj *Object, err error) error {
		line, _ := d.InputPos()
		name := ""
		if obj != nil {
			name = strings.TrimSpace(obj.Class + " " + obj.ID)
		}
		return &ParseError{Line: line, Object: name, Err: err}
	}
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !sawRoot {
				return fail(nil, errors.New("no <hibernate-generic> element: not a Confluence entities.xml"))
			}
			return nil
		}
		if err != nil {
			return fail(nil, xmlError(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case !sawRoot && t.Name.Local == "hibernate-generic":
				sawRoot = true
			case !sawRoot:
				return fail(nil, fmt.Errorf("root element <%s>, want <hibernate-generic>: not a Confluence entities.xml", t.Name.Local))
			case t.Name.Local == "object":
				line, _ := d.InputPos()
				obj := &Object{Class: attr(t, "class"), Line: line}
				if err := readObject(d, obj); err != nil {
					return fail(obj, err)
				}
				obj.Replaced = c.take(d.InputOffset())
				if err := each(obj); err != nil {
					return err
				}
			default:
				if err := d.Skip(); err != nil {
					return fail(nil, xmlError(err))
				}
			}
		case xml.Directive:
			if strings.Contains(string(t), "ENTITY") {
				return fail(nil, errors.New("a DTD with entity declarations: refused (entities.xml has none)"))
			}
		}
	}
}

// truncate shortens an untrusted value for a message: its first n bytes
// (on a rune boundary) and how long it was.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

func xmlError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("the file ends in the middle (truncated export?): %w", err)
	}
	return err
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// readObject reads an object's children up to its end tag.
func readObject(d *decoder, obj *Object) error {
	total := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return xmlError(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			name := attr(t, "name")
			switch t.Name.Local {
			case "id":
				text, err := readText(d, &total)
				if err != nil {
					return err
				}
				obj.ID = strings.TrimSpace(text)
			case "property":
				if class := attr(t, "class"); class != "" {
					id, err := readRef(d, &total)
					if err != nil {
						return fmt.Errorf("property %s: %w", name, err)
					}
					if obj.Refs == nil {
						obj.Refs = map[string]Ref{}
					}
					obj.Refs[name] = Ref{Class: class, ID: id}
					continue
				}
				text, err := readText(d, &total)
				if err != nil {
					return fmt.Errorf("property %s: %w", name, err)
				}
				if obj.Props == nil {
					obj.Props = map[string]string{}
				}
				obj.Props[name] = text
			case "collection":
				refs, err := readCollection(d, &total)
				if err != nil {
					return fmt.Errorf("collection %s: %w", name, err)
				}
				if obj.Colls == nil {
					obj.Colls = map[string][]Ref{}
				}
				obj.Colls[name] = refs
			default:
				if err := d.Skip(); err != nil {
					return xmlError(err)
				}
			}
		}
	}
}

// readText reads an element's text (CDATA included) up to its end tag.
func readText(d *decoder, total *int) (string, error) {
	var b strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return "", xmlError(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > maxText || *total+len(t) > maxObject {
				return "", fmt.Errorf("%w: a property's text over %d bytes (an object's over %d)", ErrTokenTooLarge, maxText, maxObject)
			}
			*total += len(t)
			b.Write(t)
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return "", errors.New("elements nested too deep")
			}
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
	}
}

// readRef reads a reference property's <id> up to the property's end tag.
func readRef(d *decoder, total *int) (string, error) {
	id := ""
	for {
		tok, err := d.Token()
		if err != nil {
			return "", xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "id" {
				if err := d.Skip(); err != nil {
					return "", xmlError(err)
				}
				continue
			}
			text, err := readText(d, total)
			if err != nil {
				return "", err
			}
			id = strings.TrimSpace(text)
		case xml.EndElement:
			return id, nil
		}
	}
}

// readCollection reads <element class=...><id>N</id></element> items.
func readCollection(d *decoder, total *int) ([]Ref, error) {
	var refs []Ref
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "element" {
				if err := d.Skip(); err != nil {
					return nil, xmlError(err)
				}
				continue
			}
			id, err := readRef(d, total)
			if err != nil {
				return nil, err
			}
			if len(refs) >= maxRefList {
				return nil, fmt.Errorf("over %d elements: refused", maxRefList)
			}
			refs = append(refs, Ref{Class: attr(t, "class"), ID: id})
		case xml.EndElement:
			return refs, nil
		}
	}
}
