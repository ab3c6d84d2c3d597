package model

import "strings"

// A Column is a typed field that export stores beside every event's
// envelope, derived from its payload, so that inspect answers a reviewer's
// usual questions (sizes, statuses, titles, principals) without parsing
// JSON. Columns only repeat what the payload says; import reads payloads.
type Column struct {
	Name string
	Type string // "string" or "int64"
	Doc  string
}

// Columns are the typed columns, in the order segments store them after
// the envelope.
var Columns = []Column{
	{"title", "string", "page and blog post titles (on their versions), attachment filenames, space, group, app and label names"},
	{"status", "string", "status of users, spaces, pages, blog posts and comments, and the new status of a status event"},
	{"subtype", "string", "space type (global, personal), account type of users, comment location (footer, inline), media type of attachments, \"wiki\" for version bodies in old wiki markup"},
	{"bytes", "int64", "bytes the event brings: body length of versions, size of attachment versions and app data"},
	{"mentions", "int64", "user mentions (ri:account-id, ri:userkey, ri:username) in the body of a version"},
	{"principal_type", "string", "user, group or anonymous, for space permissions and restrictions"},
	{"principal_id", "string", "the account or group id of a space permission or restriction"},
	{"app", "string", "the key of the app that app data belongs to"},
}

// Positions in Columns.
const (
	title = iota
	status
	subtype
	size
	mentions
	principalType
	principalID
	app
)

// MentionMarkers are how storage-format bodies mention a user: by account
// id (Cloud), user key or user name (Server and Data Center).
var MentionMarkers = []string{"ri:account-id=", "ri:userkey=", "ri:username="}

// Mentions counts the user mentions in a body. It walks the body once,
// from one "ri:" to the next: export counts those of every version it reads.
func Mentions(body string) int64 {
	n := 0
	for {
		i := strings.Index(body, "ri:")
		if i < 0 {
			return int64(n)
		}
		body = body[i:]
		for _, m := range MentionMarkers {
			if strings.HasPrefix(body, m) {
				n++
				break
			}
		}
		body = body[len("ri:"):]
	}
}

// ColumnValues derives the values of Columns from a change's payload: nil
// where a column does not apply, else a string or an int64.
func ColumnValues(c *Change) []any {
	v := make([]any, len(Columns))
	str := func(i int, s string) {
		if s != "" {
			v[i] = s
		}
	}
	switch p := c.Payload.(type) {
	case *User:
		str(status, p.Status)
		str(subtype, p.AccountType)
	case *Group:
		str(title, p.Name)
	case *App:
		str(title, p.Name)
	case *Space:
		str(title, p.Name)
		str(status, p.Status)
		str(subtype, p.Type)
	case *SpacePermission:
		str(principalType, p.PrincipalType)
		str(principalID, p.PrincipalID)
	case *Content:
		str(status, p.Status)
	case *Version:
		str(title, p.Title)
		str(subtype, p.Format)
		v[size] = int64(len(p.Body))
		v[mentions] = Mentions(p.Body)
	case *StatusChange:
		str(status, p.Status)
	case *Comment:
		str(status, p.Status)
		str(subtype, p.Location)
	case *Attachment:
		str(title, p.Filename)
		str(subtype, p.MediaType)
	case *AttachmentVersion:
		v[size] = p.Size
		str(subtype, p.MediaType)
	case *Label:
		str(title, p.Name)
	case *Restriction:
		str(principalType, p.PrincipalType)
		str(principalID, p.PrincipalID)
	case *Skipped:
		str(title, p.Class)
	case *AppData:
		v[size] = p.Size
		str(app, p.AppKey)
	}
	return v
}
