package importer

import (
	"errors"
	"html"
	"net/url"

	"ferry/model"
)

// Inline comments in Cloud are anchored to text in the page's current
// body: the selection, how often it occurs there, and which occurrence
// (v2 InlineCommentProperties); Cloud refuses a selection the body does
// not have. The body at the destination is the one ferry wrote, so the
// occurrences are counted there. A comment whose text is gone, or occurs
// fewer times than its place says, is written as a footer comment quoting
// the selection, reported, and marked in its ferry.source.

// errInlineRefused is an inline comment that cannot be placed.
var errInlineRefused = errors.New("inline comment cannot be placed")

// fallbackReason is the report's line for inline comments written as
// footer comments.
const fallbackReason = "inline comment written as a footer comment quoting its selection (the text is not in the page as written)"

// placeInline is an inline comment's place in the destination page: its
// inlineCommentProperties, or why it has none.
func (ci *cloudImport) placeInline(kind, container string, a *model.InlineAnchor) (map[string]any, string, error) {
	if a == nil || a.Selection == "" {
		return nil, "it names no selected text", nil
	}
	var page struct {
		Body struct {
			Storage struct{ Value string }
		}
	}
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+container, url.Values{"body-format": {"storage"}}, &page); err != nil {
		return nil, "", err
	}
	n := model.Occurrences(page.Body.Storage.Value, a.Selection)
	switch {
	case n == 0:
		return nil, "its selected text is not in the page", nil
	case a.MatchIndex >= n:
		return nil, "its selected text occurs fewer times in the page than its place says", nil
	}
	return map[string]any{"textSelection": a.Selection, "textSelectionMatchCount": n, "textSelectionMatchIndex": a.MatchIndex}, "", nil
}

// inlineFallback turns an inline comment's first write into a footer
// comment's, quoting its selection, and notes it for its later versions
// and its ferry.source.
func (ci *cloudImport) inlineFallback(sourceID string, cm *model.Comment, body map[string]any, why string) error {
	quote := quoteOf(cm)
	delete(body, "inlineCommentProperties")
	if b, ok := body["body"].(map[string]any); ok {
		b["value"] = quote + b["value"].(string)
	}
	cm.Location = "footer"
	ci.report.Changed[fallbackReason]++
	for kind, v := range map[string]string{"comment-quote": quote, "comment-fallback": why, "comment-location": "footer"} {
		if err := ci.j.record(ci.site, kind, sourceID, v); err != nil {
			return err
		}
	}
	return nil
}

// quoteOf is what an inline comment written as a footer comment starts
// with: its selection, quoted.
func quoteOf(cm *model.Comment) string {
	selection := ""
	if cm.Anchor != nil {
		selection = cm.Anchor.Selection
	}
	return "<blockquote><p>" + html.EscapeString(selection) + "</p></blockquote>"
}
