package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Statuses lists every status of pages and of blog posts, for a v2 list
// (/pages, /blogposts) that must not miss any: by default Cloud leaves
// trashed content out. Multi-valued filters go as one comma-separated
// value, as the v2 spec describes them ("comma-separated list").
var Statuses = map[string][]string{"pages": {"current,archived,trashed"}, "blogposts": {"current,trashed"}}

// Next finds the next page of a list: _links.next in the body, else the
// Link header's rel="next". "" at the end.
func Next(links struct {
	Next string `json:"next"`
}, header http.Header) string {
	if links.Next != "" {
		return links.Next
	}
	for _, v := range header.Values("Link") {
		if m := linkNext.FindStringSubmatch(v); m != nil {
			return m[1]
		}
	}
	return ""
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// maxEmptyPages bounds a known bug: a list can answer empty pages that
// still have a next link.
const maxEmptyPages = 50

// nextURL resolves a list's next link as Cloud means it. v2 links are
// paths from the site's root ("/wiki/api/v2/pages?cursor=..."); v1 links
// are relative to the answer's _links.base, which is the site's /wiki
// ("/rest/api/group?next=true&start=200", pchuri/confluence-cli#168,
// salto-io/salto#6053). Either is joined under the client's base, so a
// gateway's prefix is kept; an absolute link is taken as it is.
func (c *Client) nextURL(next string) (*url.URL, error) {
	u, err := url.Parse(next)
	if err != nil {
		return nil, err
	}
	if u.IsAbs() {
		return u, nil
	}
	if !strings.HasPrefix(u.Path, "/wiki/") {
		next = "/wiki" + next // v1: under _links.base, the site's /wiki
	}
	return c.resolve(next, nil), nil
}

// List pages through a list at path (v2, or v1 where v2 lacks), calling
// each for every result.
func (c *Client) List(ctx context.Context, path string, query url.Values, each func(json.RawMessage) error) error {
	first := c.resolve(path, query)
	next := first.String()
	for empty := 0; next != ""; {
		u := first
		if next != first.String() {
			var err error
			if u, err = c.nextURL(next); err != nil {
				return fmt.Errorf("GET %s: bad next link %q", path, truncate(next, 200))
			}
		}
		resp, err := c.do(ctx, http.MethodGet, u, nil, "")
		if err != nil {
			return err
		}
		var page struct {
			Results []json.RawMessage `json:"results"`
			Links   struct {
				Next string `json:"next"`
			} `json:"_links"`
		}
		err = decode(resp, &page)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, r := range page.Results {
			if err := each(r); err != nil {
				return err
			}
		}
		if len(page.Results) == 0 {
			if empty++; empty > maxEmptyPages {
				return fmt.Errorf("GET %s: %d empty pages in a row that still link to a next one; stopped", path, empty)
			}
		} else {
			empty = 0
		}
		n := Next(page.Links, resp.Header)
		if n != "" {
			if nu, err := c.nextURL(n); err == nil && nu.String() == u.String() {
				return fmt.Errorf("GET %s: the next link points at the same page", path)
			}
		}
		next = n
	}
	return nil
}
