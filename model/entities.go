package model

import (
	"encoding/json"
	"time"
)

// The payloads of events. Each is also the state of its entity: a
// "created" event carries the whole entity, later events carry the part
// that changed or, for updates, the whole entity again.

// User is an account. Email is empty when the source has none (app
// accounts) or hides it: EmailHidden says which (Confluence Cloud returns
// an empty email for users whose profile visibility hides it), and such a
// user is known by its account id only.
type User struct {
	AccountID   string `json:"account_id"`
	Email       string `json:"email,omitempty"`
	EmailHidden bool   `json:"email_hidden,omitempty"`
	DisplayName string `json:"display_name"`
	Status      string `json:"status"`       // active, inactive, deleted
	AccountType string `json:"account_type"` // atlassian, app, customer
}

// Group is a named set of users.
type Group struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OldName string `json:"old_name,omitempty"` // group.renamed only
}

// Membership puts a user in a group.
type Membership struct {
	GroupID   string `json:"group_id"`
	AccountID string `json:"account_id"`
}

// Space holds content. Homepage is a content id, resolved after the
// space's pages are copied.
type Space struct {
	ID          string            `json:"id"`
	Key         string            `json:"key"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`   // global, personal
	Status      string            `json:"status"` // current, archived
	Description string            `json:"description"`
	Logo        string            `json:"logo,omitempty"` // blob digest
	Categories  []string          `json:"categories"`
	Homepage    string            `json:"homepage,omitempty"`
	Settings    map[string]string `json:"settings"`
	LookAndFeel map[string]string `json:"look_and_feel"`
	Templates   []Template        `json:"templates"`
	CreatedAt   time.Time         `json:"created_at"`
	Author      string            `json:"author,omitempty"`
}

// Template is a space template.
type Template struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

// SpacePermission grants an operation in a space to a principal.
type SpacePermission struct {
	ID            string `json:"id"`
	SpaceID       string `json:"space_id"`
	PrincipalType string `json:"principal_type"` // user, group, anonymous
	PrincipalID   string `json:"principal_id,omitempty"`
	Operation     string `json:"operation"` // e.g. read:space, create:page, administer:space
}

// Content is a page or a blog post: its place, not its text, which is in
// its versions.
type Content struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"` // page, blogpost, folder
	SpaceID   string    `json:"space_id"`
	ParentID  string    `json:"parent_id,omitempty"`
	Position  int       `json:"position"`
	Status    string    `json:"status"` // current, archived, trashed, draft
	CreatedAt time.Time `json:"created_at"`
	Author    string    `json:"author,omitempty"`
}

// Version is one version of a page, blog post or comment. Body is in
// Confluence storage format (XHTML).
type Version struct {
	ContentID string    `json:"content_id"`
	Number    int       `json:"number"`
	Title     string    `json:"title,omitempty"`
	Body      string    `json:"body"`
	Author    string    `json:"author,omitempty"`
	At        time.Time `json:"at"`
	Message   string    `json:"message,omitempty"`
	MinorEdit bool      `json:"minor_edit,omitempty"`
	// Format is "wiki" for a body in Confluence's old wiki markup (from
	// XML exports, bodyType 0), kept as it is; empty for storage format.
	Format string `json:"format,omitempty"`
}

// Comment is a footer or inline comment, threaded through ParentID.
type Comment struct {
	ID          string        `json:"id"`
	ContainerID string        `json:"container_id"`
	ParentID    string        `json:"parent_id,omitempty"`
	Location    string        `json:"location"` // footer, inline
	Anchor      *InlineAnchor `json:"anchor,omitempty"`
	Status      string        `json:"status"`
	Author      string        `json:"author,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
}

// InlineAnchor says which text an inline comment is attached to.
type InlineAnchor struct {
	Selection  string `json:"selection"`
	MatchIndex int    `json:"match_index"`
	MarkerRef  string `json:"marker_ref"`
}

// Attachment is a file attached to a page or blog post; its bytes are in
// its versions.
type Attachment struct {
	ID          string    `json:"id"`
	ContainerID string    `json:"container_id"`
	Filename    string    `json:"filename"`
	MediaType   string    `json:"media_type"`
	Author      string    `json:"author,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// AttachmentVersion is one version of an attachment; Blob is the SHA-256
// of its bytes.
type AttachmentVersion struct {
	AttachmentID string    `json:"attachment_id"`
	Number       int       `json:"number"`
	Blob         string    `json:"blob"`
	Size         int64     `json:"size"`
	MediaType    string    `json:"media_type"`
	Comment      string    `json:"comment,omitempty"`
	Author       string    `json:"author,omitempty"`
	At           time.Time `json:"at"`
}

// Label tags content.
type Label struct {
	ContainerID string `json:"container_id"`
	Prefix      string `json:"prefix"` // global, my, team
	Name        string `json:"name"`
}

// Restriction limits who may read or update content.
type Restriction struct {
	ContainerID   string `json:"container_id"`
	Operation     string `json:"operation"`      // read, update
	PrincipalType string `json:"principal_type"` // user, group
	PrincipalID   string `json:"principal_id"`
}

// Property is a content property: a key with a JSON value.
type Property struct {
	ContainerID string          `json:"container_id"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value"`
	Version     int             `json:"version"`
}

// Like is a user liking content.
type Like struct {
	ContainerID   string    `json:"container_id"`
	ContainerType string    `json:"container_type"` // page, blogpost, comment
	AccountID     string    `json:"account_id"`
	At            time.Time `json:"at"`
}

// App is an installed app (Marketplace or custom). Recorded so reports can
// name it; never copied.
type App struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// AppData marks data an app keeps (macros, properties, ...). Recorded so
// reports can count it; never copied.
type AppData struct {
	ID          string `json:"id"`
	AppKey      string `json:"app_key"`
	ContainerID string `json:"container_id,omitempty"`
	Kind        string `json:"kind"`
	Size        int64  `json:"size"`
}

// Skipped is something the source holds that ferry does not copy, and why.
type Skipped struct {
	Class   string `json:"class"`        // the source's name for it, e.g. an XML export's object class
	ID      string `json:"id,omitempty"` // one object's id; empty for a whole class
	Objects int64  `json:"objects"`
	Reason  string `json:"reason"`           // the same for every object skipped for one reason, so they count together
	Line    int    `json:"line,omitempty"`   // where the object is in the source file (XML exports)
	Detail  string `json:"detail,omitempty"` // what about this one object, beyond the reason
}

// Deleted is the payload of deletions and removals: only the id, which the
// event's envelope also carries.
type Deleted struct {
	ID string `json:"id"`
}

// StatusChange is the payload of a status event (trash, restore, archive).
type StatusChange struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Move is the payload of a move: a new parent or position.
type Move struct {
	ID       string `json:"id"`
	ParentID string `json:"parent_id,omitempty"`
	Position int    `json:"position"`
}
