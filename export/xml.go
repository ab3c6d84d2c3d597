package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ferry/confluencexml"
	"ferry/embedded"
	"ferry/model"
)

// XMLSource is a Confluence XML export, loaded into a staging embedded
// site in a temporary folder; Close removes it. What the export holds and
// ferry does not copy follows the site's events as source.skipped events.
type XMLSource struct {
	EmbeddedSource
	Path   string
	Report *confluencexml.Report
	dir    string
	siteID string
}

// OpenXML loads an XML export (a .zip, a folder or an entities.xml).
func OpenXML(ctx context.Context, path string) (*XMLSource, error) {
	dir, err := os.MkdirTemp("", "ferry-xml-")
	if err != nil {
		return nil, err
	}
	site, err := embedded.Create(filepath.Join(dir, "staging.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	rep, err := confluencexml.Load(ctx, path, site, dir)
	if err != nil {
		site.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	x := &XMLSource{EmbeddedSource: EmbeddedSource{Site: site}, Path: path, Report: rep, dir: dir}
	x.siteID, err = xmlSiteID(ctx, site)
	if err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// xmlSiteID names the exported site by its space keys, so that exports of
// the same spaces import as the same source site (idempotently).
func xmlSiteID(ctx context.Context, site *embedded.Site) (string, error) {
	rows, err := site.DB().QueryContext(ctx, `SELECT key FROM spaces ORDER BY key`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, strings.ToUpper(k))
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return "xml-" + hex.EncodeToString(sum[:8]), rows.Err()
}

// Passes times the conversion's passes before the export's own.
func (x *XMLSource) Passes() map[string]float64 { return x.Report.Seconds }

func (x *XMLSource) Describe() SourceInfo {
	abs, _ := filepath.Abs(x.Path)
	return SourceInfo{Kind: "xml", Location: abs, SiteID: x.siteID}
}

func (x *XMLSource) Changes(ctx context.Context, since string, spaces []string, emit func(*model.Change) error) (string, error) {
	if since != "" {
		return "", fmt.Errorf("an XML export is a snapshot: export it in full (without --since); import then links what an earlier archive already copied")
	}
	var last time.Time
	mark, err := x.EmbeddedSource.Changes(ctx, since, spaces, func(c *model.Change) error {
		if c.At.After(last) {
			last = c.At
		}
		return emit(c)
	})
	if err != nil {
		return "", err
	}
	for i := range x.Report.Skipped {
		s := x.Report.Skipped[i]
		id := s.Class
		if s.ID != "" {
			id += ":" + s.ID
		}
		if err := emit(&model.Change{Type: model.SourceSkipped, ID: id, At: last, Payload: &s}); err != nil {
			return "", err
		}
	}
	return mark, nil
}

// Close removes the staging site.
func (x *XMLSource) Close() error {
	err := x.Site.Close()
	os.RemoveAll(x.dir)
	return err
}

var _ io.Closer = (*XMLSource)(nil)
