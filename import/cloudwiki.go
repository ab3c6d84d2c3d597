package importer

import (
	"errors"
	"html"
	"net/http"

	"ferry/cloud"
	"ferry/model"
)

// Bodies in Confluence's old wiki markup (from XML exports of old
// versions) are converted to storage format by Cloud itself (v1 POST
// /contentbody/convert/storage) before they are written: v2 takes blog
// posts in storage format only, and ferry writes everything so. A body
// Cloud cannot convert is written as preformatted text, so that nothing
// of it is lost, and reported; it never stops an import.

const (
	wikiConverted   = "wiki markup converted to storage format by Cloud"
	wikiUnconverted = "wiki markup Cloud could not convert, written as preformatted text"
)

// toStorage turns a wiki-markup version's body into storage format.
func (ci *cloudImport) toStorage(v *model.Version) error {
	if v.Format != "wiki" {
		return nil
	}
	var out struct{ Value string }
	err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/contentbody/convert/storage", map[string]string{"value": v.Body, "representation": "wiki"}, &out)
	var ae *cloud.APIError
	switch {
	case err == nil:
		v.Body = out.Value
		ci.report.Changed[wikiConverted]++
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		v.Body = "<pre>" + html.EscapeString(v.Body) + "</pre>"
		ci.report.Changed[wikiUnconverted]++
	default:
		return err
	}
	v.Format = ""
	return nil
}
