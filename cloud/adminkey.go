package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Restricted spaces and pages are invisible to every account that is not
// let in, site admins included, unless the admin turns on an admin key
// (Premium and Enterprise): then every call that carries
// Atl-Confluence-With-Admin-Key: true sees them too. A key lasts at most
// 60 minutes, and a call made with an expired one is not refused: it
// silently sees less. So the client renews the key before it runs low,
// just before each request (after any rate-limit wait).
// v2 reference, Admin Key group; support.atlassian.com: "Bypass access
// restrictions on a page with admin key".

const (
	adminKeyPath    = "/wiki/api/v2/admin-key"
	adminKeyHeader  = "Atl-Confluence-With-Admin-Key"
	adminKeyMinutes = 60 // the most Cloud grants
	// adminKeyMargin is how long before its end a key is renewed: more
	// than any one request takes, less than a key lasts.
	adminKeyMargin = 15 * time.Minute
)

// ErrAdminKeyLost is returned when a key the client held was turned off
// by someone else while it was in use: what was read since may be missing
// restricted content.
var ErrAdminKeyLost = errors.New("the admin key was turned off while ferry was using it (by another admin, or it expired): restricted spaces and pages read since then may be missing")

// EnableAdminKey turns on an admin key for the client's calls, for as long
// as the client lives (it renews the key; DisableAdminKey gives it back).
// When the site or the account cannot have one, it returns why, and the
// calls see what the account sees.
func (c *Client) EnableAdminKey(ctx context.Context) (unavailable string, err error) {
	if c.creds.Bearer != "" {
		// Atlassian: Forge and OAuth 2.0 apps cannot use this resource.
		return "bearer (OAuth or scoped) tokens cannot use an admin key; use an admin's email and API token", nil
	}
	if err := c.renewAdminKey(ctx); err != nil {
		var api *APIError
		if errors.As(err, &api) && (api.Status == http.StatusNotFound || api.Status == http.StatusForbidden || api.Status == http.StatusUnauthorized) {
			return "the site has no admin keys (Confluence Premium and Enterprise only), or the account is not an organization or site admin", nil
		}
		return "", err
	}
	return "", nil
}

// AdminKey reports whether the client's calls carry an admin key.
func (c *Client) AdminKey() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.keyUntil.IsZero()
}

// CheckAdminKey asks Cloud whether the key the client holds is still on:
// ErrAdminKeyLost if it is not.
func (c *Client) CheckAdminKey(ctx context.Context) error {
	if !c.AdminKey() {
		return nil
	}
	err := c.Get(ctx, adminKeyPath, nil, nil)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return ErrAdminKeyLost
	}
	return err
}

// DisableAdminKey gives the key back. It works after ctx is cancelled
// (an interrupted export still gives it back), within a short time.
func (c *Client) DisableAdminKey(ctx context.Context) error {
	if !c.AdminKey() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	c.mu.Lock()
	c.keyUntil = time.Time{}
	c.mu.Unlock()
	if err := c.Delete(ctx, adminKeyPath); err != nil {
		return fmt.Errorf("giving back the admin key: %w (it ends by itself within %d minutes)", err, adminKeyMinutes)
	}
	return nil
}

// renewAdminKey asks for a key of the longest duration. Its end is taken
// by the client's clock from before the request, so that it is never
// later than the server's.
func (c *Client) renewAdminKey(ctx context.Context) error {
	start := c.now()
	var answer struct {
		AccountID      string `json:"accountId"`
		ExpirationTime string `json:"expirationTime"`
	}
	if err := c.PostRepeatable(ctx, adminKeyPath, map[string]int{"durationInMinutes": adminKeyMinutes}, &answer); err != nil {
		return err
	}
	until := start.Add(adminKeyMinutes * time.Minute)
	c.mu.Lock()
	c.keyUntil = until
	c.mu.Unlock()
	return nil
}

// withAdminKey marks a request with the admin key, renewing the key
// first when it runs low.
func (c *Client) withAdminKey(ctx context.Context, req *http.Request) error {
	if strings.HasSuffix(req.URL.Path, adminKeyPath) {
		return nil // asking for a key, or about one
	}
	c.mu.Lock()
	until := c.keyUntil
	c.mu.Unlock()
	if until.IsZero() {
		return nil
	}
	if c.now().Add(adminKeyMargin).After(until) {
		if err := c.renewAdminKey(ctx); err != nil {
			return fmt.Errorf("renewing the admin key: %w", err)
		}
	}
	req.Header.Set(adminKeyHeader, "true")
	return nil
}
