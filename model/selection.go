package model

import (
	"html"
	"regexp"
	"strings"
)

// An inline comment is anchored to text in its page: Cloud takes the
// selected text, how often it occurs in the page's current body, and which
// occurrence (textSelection, textSelectionMatchCount,
// textSelectionMatchIndex), and refuses a selection the body does not have.

var tags = regexp.MustCompile(`<[^>]*>`)

// BodyText is the text of a storage-format body, as a reader sees it:
// markup dropped, entities decoded.
func BodyText(storage string) string {
	return html.UnescapeString(tags.ReplaceAllString(storage, ""))
}

// Occurrences counts the selection in a storage-format body's text.
func Occurrences(storage, selection string) int {
	if selection == "" {
		return 0
	}
	return strings.Count(BodyText(storage), selection)
}
