package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// EventType names an event: "entity.verb".
type EventType string

// Kind returns the entity kind, the part before the dot.
func (t EventType) Kind() string { k, _, _ := strings.Cut(string(t), "."); return k }

// The event types. spec/EVENTS.md is rendered from Catalogue.
const (
	UserCreated            EventType = "user.created"
	UserUpdated            EventType = "user.updated"
	GroupCreated           EventType = "group.created"
	GroupRenamed           EventType = "group.renamed"
	GroupDeleted           EventType = "group.deleted"
	MembershipAdded        EventType = "membership.added"
	MembershipRemoved      EventType = "membership.removed"
	AppInstalled           EventType = "app.installed"
	SpaceCreated           EventType = "space.created"
	SpaceUpdated           EventType = "space.updated"
	SpaceDeleted           EventType = "space.deleted"
	SpacePermissionGranted EventType = "space_permission.granted"
	SpacePermissionRevoked EventType = "space_permission.revoked"
	FolderCreated          EventType = "folder.created"
	FolderVersion          EventType = "folder.version"
	FolderMoved            EventType = "folder.moved"
	FolderStatus           EventType = "folder.status"
	FolderDeleted          EventType = "folder.deleted"
	PageCreated            EventType = "page.created"
	PageVersion            EventType = "page.version"
	PageMoved              EventType = "page.moved"
	PageStatus             EventType = "page.status"
	PageDeleted            EventType = "page.deleted"
	BlogpostCreated        EventType = "blogpost.created"
	BlogpostVersion        EventType = "blogpost.version"
	BlogpostStatus         EventType = "blogpost.status"
	BlogpostDeleted        EventType = "blogpost.deleted"
	CommentCreated         EventType = "comment.created"
	CommentVersion         EventType = "comment.version"
	CommentDeleted         EventType = "comment.deleted"
	AttachmentCreated      EventType = "attachment.created"
	AttachmentVersionAdded EventType = "attachment.version"
	AttachmentDeleted      EventType = "attachment.deleted"
	LabelAdded             EventType = "label.added"
	LabelRemoved           EventType = "label.removed"
	RestrictionAdded       EventType = "restriction.added"
	RestrictionRemoved     EventType = "restriction.removed"
	PropertySet            EventType = "property.set"
	PropertyDeleted        EventType = "property.deleted"
	LikeAdded              EventType = "like.added"
	LikeRemoved            EventType = "like.removed"
	AppDataRecorded        EventType = "app_data.recorded"
	AppDataRemoved         EventType = "app_data.removed"
	SourceSkipped          EventType = "source.skipped"
)

// EventInfo documents one event type.
type EventInfo struct {
	Type    EventType
	Payload any    // a zero value of the payload's type
	Doc     string // what the event means
}

// Catalogue lists every event type in the order an archive's events come
// in (see Order): an entity's events after those of everything it refers to.
var Catalogue = []EventInfo{
	{UserCreated, User{}, "An account: id, email (case preserved; matched case-insensitively), name, status, type. Deleted accounts are exported with status deleted, so their content keeps an author (\"former user\")."},
	{UserUpdated, User{}, "The account's whole state again, after any change (email, name, status)."},
	{GroupCreated, Group{}, "A group, keyed by id; its name is resolved at the destination, at the end, so a renamed group keeps its permissions."},
	{GroupRenamed, Group{}, "A group's new name (and its old one)."},
	{MembershipAdded, Membership{}, "A user joins a group. id is GROUP:ACCOUNT."},
	{AppInstalled, App{}, "An app installed at the source. Recorded so reports can name it; never copied."},
	{SpaceCreated, Space{}, "A space with its details, settings, look and feel and templates. homepage names a page resolved after the space's pages."},
	{SpaceUpdated, Space{}, "The space's whole state again: a rename, archiving, a new description, logo or settings."},
	{SpacePermissionGranted, SpacePermission{}, "A principal (user, group or anonymous) may perform an operation in a space."},
	{FolderCreated, Content{}, "A folder's place in the page tree: space, parent, position, status. A folder is a page without a body (Confluence Cloud); pages and folders come parents first, together. Its title is in its versions."},
	{FolderVersion, Version{}, "One version of a folder: its title (the body is empty)."},
	{FolderMoved, Move{}, "A folder has a new parent or position."},
	{FolderStatus, StatusChange{}, "A folder was trashed or restored."},
	{PageCreated, Content{}, "A page's place: space, parent, position, status. Parents come before their children. Its text is in its versions."},
	{PageVersion, Version{}, "One version of a page, in version order: title, storage-format body, author, time, message, minor edit."},
	{PageMoved, Move{}, "A page has a new parent or position."},
	{PageStatus, StatusChange{}, "A page was trashed, restored, archived or published."},
	{BlogpostCreated, Content{}, "A blog post's place: space and status."},
	{BlogpostVersion, Version{}, "One version of a blog post, in version order."},
	{BlogpostStatus, StatusChange{}, "A blog post was trashed, restored or published."},
	{CommentCreated, Comment{}, "A footer or inline comment (with its anchor) on a page or blog post; replies after the comment they reply to."},
	{CommentVersion, Version{}, "One version of a comment's body, in version order."},
	{AttachmentCreated, Attachment{}, "A file attached to a page or blog post."},
	{AttachmentVersionAdded, AttachmentVersion{}, "One version of an attachment: its bytes are the blob named by blob (SHA-256)."},
	{LabelAdded, Label{}, "A label on a page or blog post. id is CONTAINER:PREFIX:NAME."},
	{RestrictionAdded, Restriction{}, "Only this user or group may read or update the content (with the others so restricted). id is CONTAINER:OPERATION:TYPE:PRINCIPAL."},
	{PropertySet, Property{}, "A content property's value. id is CONTAINER:KEY."},
	{LikeAdded, Like{}, "A user likes a page, blog post or comment. id is CONTAINER:ACCOUNT."},
	{AppDataRecorded, AppData{}, "Data an app keeps at the source. Recorded so reports can count it; never copied."},
	{AppDataRemoved, Deleted{}, "An app's data went away with its space."},
	{LikeRemoved, Deleted{}, "A like was withdrawn."},
	{PropertyDeleted, Deleted{}, "A content property was removed."},
	{RestrictionRemoved, Deleted{}, "A restriction was lifted."},
	{LabelRemoved, Deleted{}, "A label was removed."},
	{AttachmentDeleted, Deleted{}, "An attachment was deleted with all its versions."},
	{CommentDeleted, Deleted{}, "A comment was deleted; replies are deleted before the comment they reply to."},
	{BlogpostDeleted, Deleted{}, "A blog post was purged."},
	{PageDeleted, Deleted{}, "A page was purged; children are deleted (or moved) before their parent."},
	{FolderDeleted, Deleted{}, "A folder was deleted, after what was in it."},
	{SpacePermissionRevoked, Deleted{}, "A space permission was taken away."},
	{SpaceDeleted, Deleted{}, "A space was deleted, after everything in it."},
	{MembershipRemoved, Deleted{}, "A user left a group."},
	{GroupDeleted, Deleted{}, "A group was deleted, after its memberships."},
	{SourceSkipped, Skipped{}, "Something the source holds that ferry does not copy: a class of objects it does not map (objects counts them), or one object it cannot copy, such as an attachment version whose bytes the export lacks. id is CLASS or CLASS:ID. Recorded so inspect can list it."},
}

var byType = func() map[EventType]EventInfo {
	m := map[EventType]EventInfo{}
	for _, e := range Catalogue {
		m[e.Type] = e
	}
	return m
}()

// Info returns the catalogue entry of t.
func Info(t EventType) (EventInfo, bool) { e, ok := byType[t]; return e, ok }

// Change is one event with a typed payload, as sites produce and consume
// them. The envelope fields mirror an archive event's.
type Change struct {
	Type    EventType
	ID      string    // the entity's id (composite for relations, see Catalogue)
	Parent  string    // the entity it belongs to: parent page, container, group, space
	Space   string    // the key of the space it lives in, if any
	At      time.Time // when it happened at the source
	Actor   string    // the account that did it, if known
	Payload any       // a pointer to the type Info(Type).Payload names
}

// Encode writes a payload as an event's JSON. Unlike json.Marshal it
// leaves <, > and & as they are: page bodies are XHTML, and escaping each
// angle bracket as \u003c made payloads 11% longer, for no reader's sake.
func Encode(payload any) ([]byte, error) {
	e := encoders.Get().(*Encoder)
	defer encoders.Put(e)
	b, err := e.Encode(payload)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil // at its size, as json.Marshal returns it
}

var encoders = sync.Pool{New: func() any { return NewEncoder() }}

// An Encoder writes payloads as Encode does, into a buffer of its own that
// each call reuses: for a caller that is done with the bytes by the next
// call, as export is once the archive writer has copied them.
type Encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// maxKeptBuffer is the largest buffer an Encoder keeps between calls, so
// one huge page body is not held for the rest of an export.
const maxKeptBuffer = 1 << 20

// NewEncoder returns an Encoder with an empty buffer.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// Encode returns payload's JSON, valid until the next call.
func (e *Encoder) Encode(payload any) ([]byte, error) {
	if e.buf.Cap() > maxKeptBuffer {
		e.buf = bytes.Buffer{}
	}
	e.buf.Reset()
	if err := e.enc.Encode(payload); err != nil {
		return nil, err
	}
	return e.buf.Bytes()[:e.buf.Len()-1], nil // without Encode's newline
}

// Decode parses a payload for event type t into its typed form.
func Decode(t EventType, data []byte) (any, error) {
	info, ok := byType[t]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", t)
	}
	v := reflect.New(reflect.TypeOf(info.Payload))
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return nil, fmt.Errorf("%s payload: %w", t, err)
	}
	return v.Interface(), nil
}
