package sandbox

import (
	"database/sql"
	"net/http"
)

// Installed apps, through the Universal Plugin Manager's REST API, which
// Confluence Cloud serves to site admins at /wiki/rest/plugins/1.0/. It is
// not in Confluence's published specs; ferry reads only a plugin's key,
// name, version, vendor name and whether a user installed it (Marketplace
// and custom apps) or it ships with Confluence.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/rest/plugins/1.0/", s.plugins)
	})
}

// bundled are plugins every Confluence has: listed, but not user-installed.
var bundled = []map[string]any{
	{"key": "com.atlassian.confluence.plugins.confluence-editor", "name": "Confluence Editor", "version": "1.0", "enabled": true,
		"userInstalled": false, "vendor": map[string]any{"name": "Atlassian"}},
	{"key": "com.atlassian.upm.atlassian-universal-plugin-manager-plugin", "name": "Atlassian Universal Plugin Manager Plugin", "version": "1.0",
		"enabled": true, "userInstalled": false, "vendor": map[string]any{"name": "Atlassian"}},
}

func (s *Server) plugins(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly {
		writeJSONStatus(w, http.StatusForbidden, map[string]any{"statusCode": 403, "message": "Only site administrators may list apps"})
		return
	}
	plugins := append([]map[string]any{}, bundled...)
	if !s.query(w, `SELECT key, name, vendor, version FROM apps ORDER BY key`, nil, func(rows *sql.Rows) error {
		var key, name, vendor, version string
		if err := rows.Scan(&key, &name, &vendor, &version); err != nil {
			return err
		}
		plugins = append(plugins, map[string]any{"key": key, "name": name, "version": version, "enabled": true,
			"userInstalled": true, "vendor": map[string]any{"name": vendor}})
		return nil
	}) {
		return
	}
	writeJSON(w, map[string]any{"plugins": plugins, "links": map[string]any{"self": "/wiki/rest/plugins/1.0/"}})
}
