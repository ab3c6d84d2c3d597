package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ferry/cloud"
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

// commentVersion writes one version of a footer or inline comment: the
// first creates it (unless a ferry.source property shows an earlier run
// did), later ones update it.
func (ci *cloudImport) commentVersion(v *model.Version, counts *Counts) error {
	if err := ci.toStorage(v); err != nil {
		return err
	}
	cm := ci.comments[v.ContentID]
	if meta, ok := ci.j.lookup(ci.site, "comment-meta", v.ContentID); cm == nil && ok {
		cm = &model.Comment{}
		json.Unmarshal([]byte(meta), cm)
	}
	id, ok := ci.j.lookup(ci.site, "comment", v.ContentID)
	if !ok {
		if cm == nil {
			counts.Skipped++
			ci.report.Skipped["comment version whose comment was not seen in this archive"]++
			return nil
		}
		container, ok := ci.j.lookup(ci.site, "content", cm.ContainerID)
		kind, known := ci.j.lookup(ci.site, "content-kind", cm.ContainerID)
		if !ok || !known {
			counts.Skipped++
			ci.report.Skipped["on content that was not written"]++
			return nil
		}
		if err := ci.recoverCommentsOnRerun(kind, container); err != nil {
			return err
		}
		if _, known := ci.j.lookup(ci.site, "comment", v.ContentID); !known && ci.rerun {
			if err := ci.adoptComment(kind, container, cm, v.ContentID); err != nil {
				return err
			}
		}
		if id, ok = ci.j.lookup(ci.site, "comment", v.ContentID); !ok {
			body := map[string]any{"body": map[string]any{"representation": representation(v), "value": v.Body}}
			switch {
			case cm.ParentID != "":
				parent, ok := ci.j.lookup(ci.site, "comment", cm.ParentID)
				if !ok {
					counts.Skipped++
					ci.report.Skipped["a reply to a comment that was not written"]++
					return nil
				}
				body["parentCommentId"] = parent
				if loc, _ := ci.j.lookup(ci.site, "comment-location", cm.ParentID); loc != "" && loc != cm.Location {
					// Its parent was written as a footer comment (see
					// inlineFallback), and a reply is made in its
					// parent's collection.
					reply := *cm
					reply.Location = loc
					cm = &reply
				}
			case kind == "blogposts":
				body["blogPostId"] = container
			default:
				body["pageId"] = container
			}
			var why string // the comment is inline, but its text cannot be placed
			if cm.Location == "inline" && cm.ParentID == "" {
				props, reason, err := ci.placeInline(kind, container, cm.Anchor)
				if err != nil {
					return err
				}
				body["inlineCommentProperties"], why = props, reason
			}
			var created struct{ ID string }
			post := func(path string) error {
				return writeChecked(func() error { return ci.c.Post(ci.ctx, "/wiki/api/v2/"+path, body, &created) }, func() (bool, error) {
					// Lost answer? A comment without a ferry.source property,
					// written since the scan, is this one.
					orphan, _, err := ci.orphanComment(kind, container)
					created.ID = orphan
					return orphan != "", err
				})
			}
			err := errInlineRefused
			if why == "" {
				err = post(commentPath(cm))
			}
			var ae *cloud.APIError
			if cm.Location == "inline" && cm.ParentID == "" && (errors.Is(err, errInlineRefused) || errors.As(err, &ae) && ae.Status == http.StatusBadRequest) {
				// One comment never stops an import: it becomes a footer
				// comment quoting its selection, reported and marked.
				if why == "" {
					why = "Cloud refused its selected text"
				}
				if err = ci.inlineFallback(v.ContentID, cm, body, why); err == nil {
					err = post("footer-comments")
				}
			}
			if err != nil {
				return err
			}
			id = created.ID
			ci.remember("/wiki/api/v2/"+commentPath(cm)+"/"+id, 1)
			if err := ci.labelComment(id, strings.TrimSuffix(commentPath(cm), "-comments"), cm, v.ContentID); err != nil {
				return err
			}
			counts.Created++
			return nil
		}
	}
	message := fmt.Sprintf("ferry: version %d by %s at %s", v.Number, v.Author, v.At.UTC().Format(time.RFC3339))
	body := map[string]any{"body": map[string]any{"representation": representation(v), "value": v.Body}, "version": map[string]any{"number": v.Number, "message": message}}
	path := "/wiki/api/v2/footer-comments/" + id
	if loc, ok := ci.j.lookup(ci.site, "comment-location", v.ContentID); ok {
		path = "/wiki/api/v2/" + loc + "-comments/" + id
	} else if cm != nil {
		path = "/wiki/api/v2/" + commentPath(cm) + "/" + id
	}
	if quote, ok := ci.j.lookup(ci.site, "comment-quote", v.ContentID); ok {
		body["body"] = map[string]any{"representation": representation(v), "value": quote + v.Body}
	}
	return ci.nextVersion(path, "comment "+v.ContentID, v.Number, body, counts)
}

// commentPath is the v2 collection of a comment: footer-comments or
// inline-comments.
func commentPath(cm *model.Comment) string {
	if cm.Location == "inline" {
		return "inline-comments"
	}
	return "footer-comments"
}

// walkComments lists every footer and inline comment of a page or blog
// post, replies included, with its ferry.source property if it has one.
func (ci *cloudImport) walkComments(kind, container string, each func(id, loc string, prov *Provenance) error) error {
	type item struct{ id, loc string }
	var queue []item
	collect := func(loc string) func(json.RawMessage) error {
		return func(r json.RawMessage) error {
			var c struct{ ID string }
			json.Unmarshal(r, &c)
			queue = append(queue, item{c.ID, loc})
			return nil
		}
	}
	for _, loc := range []string{"footer", "inline"} {
		if err := ci.c.List(ci.ctx, "/wiki/api/v2/"+kind+"/"+container+"/"+loc+"-comments", url.Values{"limit": {"250"}}, collect(loc)); err != nil {
			return err
		}
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		id := it.id
		var props struct {
			Results []struct{ Value Provenance }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props); err != nil {
			return err
		}
		var prov *Provenance
		if len(props.Results) > 0 {
			prov = &props.Results[0].Value
		}
		if err := each(id, it.loc, prov); err != nil {
			return err
		}
		if err := ci.c.List(ci.ctx, "/wiki/api/v2/"+it.loc+"-comments/"+id+"/children", url.Values{"limit": {"250"}}, collect(it.loc)); err != nil {
			return err
		}
	}
	return nil
}

// recoverComments scans a page's comments once for ferry.source
// properties, recording them in the journal.
func (ci *cloudImport) recoverComments(kind, container string) error {
	if ci.recovered["comments/"+container] {
		return nil
	}
	ci.recovered["comments/"+container] = true
	return ci.walkComments(kind, container, func(id, loc string, prov *Provenance) error {
		if prov != nil && prov.SourceSite == ci.site && prov.SourceID != "" {
			if _, known := ci.j.lookup(ci.site, "comment", prov.SourceID); !known {
				// Where it is, and, for an inline comment written as a
				// footer comment, the quote its later versions keep.
				records := map[string]string{"comment": id, "comment-location": loc}
				if cm := ci.comments[prov.SourceID]; prov.InlineFallback != "" && cm != nil {
					records["comment-quote"], records["comment-fallback"] = quoteOf(cm), prov.InlineFallback
				}
				return ci.j.recordAll(ci.site, prov.SourceID, records)
			}
		}
		return nil
	})
}

// adoptComment takes a comment that a run killed between writing it and
// labelling it left without a ferry.source property, and labels it. An
// inline comment found among the footer comments was written as one (see
// inlineFallback): its later versions keep the quote.
func (ci *cloudImport) adoptComment(kind, container string, cm *model.Comment, sourceID string) error {
	orphan, loc, err := ci.orphanComment(kind, container)
	if err != nil || orphan == "" {
		return err
	}
	if cm.Location == "inline" && cm.ParentID == "" && loc == "footer" {
		ci.report.Changed[fallbackReason]++
		for kind, v := range map[string]string{"comment-quote": quoteOf(cm), "comment-fallback": "its selected text could not be placed"} {
			if err := ci.j.record(ci.site, kind, sourceID, v); err != nil {
				return err
			}
		}
	}
	return ci.labelComment(orphan, loc, cm, sourceID)
}

// labelComment gives a comment at the destination, in its footer or
// inline collection (loc), its ferry.source property and records it in
// the journal.
func (ci *cloudImport) labelComment(id, loc string, cm *model.Comment, sourceID string) error {
	prov := Provenance{SourceSite: ci.site, SourceID: sourceID, ArchiveID: ci.archiveID, Author: cm.Author, CreatedAt: cm.CreatedAt}
	prov.InlineFallback, _ = ci.j.lookup(ci.site, "comment-fallback", sourceID)
	err := writeChecked(func() error {
		return ci.c.Post(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", map[string]any{"key": ProvenanceKey, "value": prov}, nil)
	}, func() (bool, error) {
		var props struct{ Results []json.RawMessage }
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/comments/"+id+"/properties", url.Values{"key": {ProvenanceKey}}, &props)
		return len(props.Results) > 0, err
	})
	if err != nil {
		return err
	}
	return ci.j.recordAll(ci.site, sourceID, map[string]string{"comment": id, "comment-location": loc})
}

// orphanComment finds a comment of the page without a ferry.source
// property, and whether it is a footer or inline one: a comment whose
// creation answer was lost, or whose run was killed before labelling it.
func (ci *cloudImport) orphanComment(kind, container string) (id, loc string, err error) {
	err = ci.walkComments(kind, container, func(found, where string, prov *Provenance) error {
		if prov == nil && id == "" {
			id, loc = found, where
		}
		return nil
	})
	return id, loc, err
}

// recoverCommentsOnRerun scans a page's comments for what an earlier run
// wrote, when there may have been one.
func (ci *cloudImport) recoverCommentsOnRerun(kind, container string) error {
	if !ci.rerun {
		return nil
	}
	return ci.recoverComments(kind, container)
}
