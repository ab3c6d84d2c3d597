package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Destination is a site an import writes to.
type Destination interface {
	// SiteID names the destination site.
	SiteID() string
	// Update runs fn in one transaction: all of it persists, or none.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction of a destination: writes of model entities, the
// id map and checkpoints, and the lookups that match what exists. The
// embedded site's transaction is one.
type Tx interface {
	Lookup(sourceSite, kind, sourceID string) (destID string, owned, ok bool, err error)
	Record(sourceSite, kind, sourceID, destID, archiveID string, owned bool) error
	MappedFrom(sourceSite, kind, destID string) (int, error)
	Imported(archiveID string) (embedded.ImportState, bool, error)
	Checkpoint(archiveID, parentID, sourceSite string, seq int64, done bool) error
	NewID(prefix string) (string, error)

	UserByEmail(email string) (string, bool, error)
	UserExists(accountID string) (bool, error)
	AppInstalled(key string) (bool, error)
	GroupByName(name string) (string, bool, error)
	GroupMembers(groupID string) ([]string, error)
	SpaceByKey(key string) (id, storedKey string, ok bool, err error)
	FreeSpaceKey(key string) (string, error)
	VersionExists(kind, id string, number int) (bool, error)
	HasBlob(digest string) (bool, error)
	PutBlobAs(digest string, r io.Reader) (int64, error)

	PutUser(model.User) error
	CreateGroup(model.Group) error
	RenameGroup(id, name string) error
	DeleteGroup(id string) error
	AddMembership(model.Membership) error
	RemoveMembership(model.Membership) error
	CreateSpace(model.Space) error
	UpdateSpace(model.Space) error
	SetHomepage(spaceID, contentID string) error
	DeleteSpace(id string) error
	GrantPermission(model.SpacePermission) error
	RevokePermission(id string) error
	CreateContent(model.Content) error
	AddVersionIfNew(model.Version) (bool, error)
	MoveContent(id, parentID string, position int) error
	SetContentStatus(id, status string) error
	DeleteContent(id string) error
	LiftChildren(id string) error
	CreateComment(model.Comment) error
	AddCommentVersionIfNew(model.Version) (bool, error)
	DeleteComment(id string) error
	CreateAttachment(model.Attachment) error
	AddAttachmentVersion(model.AttachmentVersion) error
	DeleteAttachment(id string) error
	AddLabel(model.Label) error
	RemoveLabel(model.Label) error
	AddRestriction(model.Restriction) error
	RemoveRestriction(model.Restriction) error
	SetProperty(model.Property) error
	DeleteProperty(containerID, key string) error
	AddLike(model.Like) error
	RemoveLike(containerID, accountID string) error
}

// OpenDestination opens the destination a SITE argument names (cli.md):
// PATH.db or local:PATH for an embedded site, created if it does not exist.
func OpenDestination(site string) (Destination, io.Closer, error) {
	switch {
	case strings.HasPrefix(site, "http://"), strings.HasPrefix(site, "https://"):
		return nil, nil, fmt.Errorf("--to %s: importing into Confluence Cloud is not available in this version of ferry", site)
	case strings.HasPrefix(site, "xml:"):
		return nil, nil, fmt.Errorf("--to %s: an XML export can only be a source", site)
	}
	path := strings.TrimPrefix(site, "local:")
	if path == site && !strings.HasSuffix(path, ".db") {
		return nil, nil, fmt.Errorf("--to %s: not a site; give PATH.db or local:PATH for an embedded site", site)
	}
	s, err := embedded.OpenOrCreate(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--to: %w", err)
	}
	return &EmbeddedDestination{Site: s}, s, nil
}

// OpenPlanDestination opens a destination to plan an import into without
// writing (a dry run, inspect --against): as OpenDestination, except that
// a site that does not exist yet is not created: the plan is made against
// an empty one in a temporary folder, removed on Close.
func OpenPlanDestination(site string) (Destination, io.Closer, error) {
	path := strings.TrimPrefix(site, "local:")
	if _, err := os.Stat(path); err == nil || isCloud(site) || strings.HasPrefix(site, "xml:") || (path == site && !strings.HasSuffix(path, ".db")) {
		return OpenDestination(site)
	}
	dir, err := os.MkdirTemp("", "ferry-plan-")
	if err != nil {
		return nil, nil, err
	}
	d, c, err := OpenDestination(filepath.Join(dir, "new-site.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return d, closerFunc(func() error { err := c.Close(); os.RemoveAll(dir); return err }), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// EmbeddedDestination writes to an embedded site.
type EmbeddedDestination struct{ Site *embedded.Site }

func (e *EmbeddedDestination) SiteID() string { return e.Site.ID() }

func (e *EmbeddedDestination) Update(ctx context.Context, fn func(Tx) error) error {
	return e.Site.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error { return fn(tx) })
}

// errRollback ends a transaction that must leave nothing behind: a dry run,
// or a read-only planning pass.
var errRollback = errors.New("importer: rolled back")
