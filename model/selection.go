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

// MatchIndex is which occurrence of the selection an inline comment's
// marker (<ac:inline-comment-marker ac:ref="REF">) holds in a storage
// body: how many occurrences come before it; 0 if the marker is not there.
func MatchIndex(storage, markerRef, selection string) int {
	at := strings.Index(storage, `<ac:inline-comment-marker ac:ref="`+markerRef+`"`)
	if at < 0 || markerRef == "" || selection == "" {
		return 0
	}
	return strings.Count(BodyText(storage[:at]), selection)
}
