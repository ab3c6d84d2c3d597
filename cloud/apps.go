package cloud

import (
	"context"
	"sort"
)

// App is an app a user installed (from the Marketplace, or custom).
type App struct {
	Key, Name, Vendor, Version string
}

// Apps lists the apps users installed at the site, leaving out the
// plugins Confluence ships with. It asks the Universal Plugin Manager,
// which answers site admins only: Confluence's REST API has no list of
// apps.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var list struct {
		Plugins []struct {
			Key, Name, Version string
			UserInstalled      bool
			Vendor             struct{ Name string }
		}
	}
	if err := c.Get(ctx, "/wiki/rest/plugins/1.0/", nil, &list); err != nil {
		return nil, err
	}
	var apps []App
	for _, p := range list.Plugins {
		if p.UserInstalled && p.Key != "" {
			apps = append(apps, App{Key: p.Key, Name: p.Name, Vendor: p.Vendor.Name, Version: p.Version})
		}
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Key < apps[j].Key })
	return apps, nil
}
