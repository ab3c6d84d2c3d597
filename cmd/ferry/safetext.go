package main

import (
	"fmt"
	"strings"
	"unicode"
)

// Archives, sites and servers are untrusted, and ferry prints what they
// hold (titles, names, sources, error texts). A value could carry terminal
// escape sequences (moving the cursor, rewriting a line, setting a title)
// or bidirectional overrides that make text read otherwise than it is.
// Every value printed as text goes through safeText, which shows such
// characters as Go escapes instead.

// safeText shows control characters but newlines and tabs, and
// bidirectional formatting characters, as escapes.
func safeText(s string) string { return escapeControls(s, false) }

// oneLine is safeText for a value that must stay on its line: newlines and
// tabs are escaped too.
func oneLine(s string) string { return escapeControls(s, true) }

func escapeControls(s string, lineBreaks bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unsafeRune(r, lineBreaks) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r, lineBreaks) {
			q := fmt.Sprintf("%+q", string(r))
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune, lineBreaks bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return lineBreaks
	case r == unicode.ReplacementChar:
		return false
	case unicode.IsControl(r): // C0, DEL and C1, ESC and CSI among them
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional embeddings, overrides, isolates and marks
	}
	return false
}

// safeArgs applies safeText to the string values among printf's args.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = safeText(v)
		case []string:
			s := make([]string, len(v))
			for j := range v {
				s[j] = safeText(v[j])
			}
			out[i] = s
		case error:
			out[i] = safeText(v.Error())
		case fmt.Stringer:
			out[i] = safeText(v.String())
		default:
			out[i] = a
		}
	}
	return out
}
