// Package export reads a source site and writes its history to an
// archive: everything, or with --since only what changed after a previous
// archive, and with --spaces only some spaces and whom they reference.
//
// A source emits model.Changes in archive order (spec/EVENTS.md); export
// numbers them, turns them into archive events, copies the blobs they
// name, and records a watermark from which the next incremental export
// continues. The archive appears under its name only when complete: a
// failed or interrupted export leaves nothing there.
package export

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"ferry/cloud"
	"ferry/embedded"
	"ferry/model"
)

// Source is a site that export reads.
type Source interface {
	// Describe says what the source is, for the archive's header.
	Describe() SourceInfo
	// Changes emits, in archive order, every change after the watermark
	// since ("" for everything) in the listed spaces (nil: all) plus the
	// users and groups they reference, and returns the watermark of the
	// state it read.
	Changes(ctx context.Context, since string, spaces []string, emit func(*model.Change) error) (watermark string, err error)
	// OpenBlob opens the bytes of a blob by their SHA-256.
	OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error)
}

// Recorder is a source without a change feed (Confluence Cloud). Its
// watermark is the digest of a record of what it saw, which export stores
// as a blob of the archive; an incremental export lets it read the previous
// archive's record through open.
type Recorder interface {
	UsePrevious(open func(digest string) (io.ReadCloser, error))
}

// SourceInfo describes a source.
type SourceInfo struct {
	Kind     string // embedded, cloud, xml
	Location string // a path or URL
	SiteID   string
	// Visibility is "full" when the source's reader sees all of it, or
	// "limited", with Limits saying what it cannot see.
	Visibility, Limits string
}

// Estimator is a Source that can say roughly how many events an export
// will write, for a progress bar's ETA.
type Estimator interface {
	Estimate(ctx context.Context, since string) (int64, error)
}

// OpenSource opens the source a SITE argument names (cli.md): PATH.db or
// local:PATH for an embedded site, xml:PATH for a Confluence XML export,
// or an http(s) URL for Confluence Cloud.
//
// A Confluence Cloud URL needs a client, which connect makes (with
// credentials from the environment or a file; never from a flag's value).
func OpenSource(ctx context.Context, site string, connect func(ctx context.Context, site string) (*cloud.Client, error)) (Source, io.Closer, error) {
	switch {
	case strings.HasPrefix(site, "http://"), strings.HasPrefix(site, "https://"):
		shown := cloud.RedactURL(site)
		if connect == nil {
			return nil, nil, fmt.Errorf("--from %s: credentials are needed", shown)
		}
		c, err := connect(ctx, site)
		if err != nil {
			return nil, nil, fmt.Errorf("--from %s: %w", shown, err)
		}
		src, err := OpenCloudClient(ctx, c)
		if err != nil {
			return nil, nil, fmt.Errorf("--from %s: %w", shown, err)
		}
		return src, src, nil
	case strings.HasPrefix(site, "xml:"):
		x, err := OpenXML(ctx, strings.TrimPrefix(site, "xml:"))
		if err != nil {
			return nil, nil, fmt.Errorf("--from %s: %w", site, err)
		}
		return x, x, nil
	}
	path := strings.TrimPrefix(site, "local:")
	if path == site && !strings.HasSuffix(path, ".db") {
		return nil, nil, fmt.Errorf("--from %s: not a site; give PATH.db or local:PATH for an embedded site", site)
	}
	s, err := embedded.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--from: %w", err)
	}
	return &EmbeddedSource{Site: s}, s, nil
}

// EmbeddedSource reads an embedded site. Its watermark is the site's
// revision.
type EmbeddedSource struct{ Site *embedded.Site }

func (e *EmbeddedSource) Describe() SourceInfo {
	return SourceInfo{Kind: "embedded", Location: e.Site.Path(), SiteID: e.Site.ID(), Visibility: "full"}
}

func (e *EmbeddedSource) Changes(ctx context.Context, since string, spaces []string, emit func(*model.Change) error) (string, error) {
	var rev int64
	if since != "" {
		var err error
		if rev, err = strconv.ParseInt(since, 10, 64); err != nil {
			return "", fmt.Errorf("watermark %q is not an embedded site's revision", since)
		}
	}
	rev, err := e.Site.Changes(ctx, rev, spaces, emit)
	return strconv.FormatInt(rev, 10), err
}

func (e *EmbeddedSource) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	r, _, err := e.Site.OpenBlob(ctx, digest)
	return r, err
}

func (e *EmbeddedSource) Estimate(ctx context.Context, since string) (int64, error) {
	rev, _ := strconv.ParseInt(since, 10, 64)
	var n int64
	err := e.Site.DB().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE rev > ?1) + (SELECT count(*) FROM content WHERE rev > ?1) +
		(SELECT count(*) FROM content_versions WHERE rev > ?1) + (SELECT count(*) FROM comments WHERE rev > ?1) +
		(SELECT count(*) FROM comment_versions WHERE rev > ?1) + (SELECT count(*) FROM attachment_versions WHERE rev > ?1) +
		(SELECT count(*) FROM attachments WHERE rev > ?1) + (SELECT count(*) FROM labels WHERE rev > ?1) +
		(SELECT count(*) FROM likes WHERE rev > ?1) + (SELECT count(*) FROM memberships WHERE rev > ?1)`, rev).Scan(&n)
	return n, err
}
