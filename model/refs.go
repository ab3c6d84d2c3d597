package model

// Ref names an entity an event refers to. Kinds: user, group, space,
// content (pages, blog posts and folders share ids), comment, attachment, and the
// relation kinds for an event about the relation itself.
type Ref struct {
	Kind string
	ID   string
}

// Subject is the entity an event is about: its kind and id.
func (c *Change) Subject() Ref { return Ref{refKind(c.Type.Kind()), c.ID} }

// IsCreation reports whether the event brings its subject into being (the
// first event about it in a full export).
func (c *Change) IsCreation() bool {
	switch c.Type {
	case UserCreated, GroupCreated, MembershipAdded, AppInstalled, SpaceCreated, SpacePermissionGranted,
		FolderCreated, PageCreated, BlogpostCreated, CommentCreated, AttachmentCreated, LabelAdded, RestrictionAdded,
		PropertySet, LikeAdded, AppDataRecorded, SourceSkipped:
		return true
	}
	return false
}

func refKind(kind string) string {
	if kind == "page" || kind == "blogpost" || kind == "folder" {
		return "content"
	}
	return kind
}

// Refs lists the entities that must exist before this event can be
// applied: its subject unless it creates it, and what its payload points
// at. Links inside bodies and a space's homepage are resolved after the
// copy and are not listed.
func (c *Change) Refs() []Ref {
	var refs []Ref
	add := func(kind, id string) {
		if id != "" {
			refs = append(refs, Ref{kind, id})
		}
	}
	if !c.IsCreation() {
		refs = append(refs, c.Subject())
	}
	switch p := c.Payload.(type) {
	case *Membership:
		add("group", p.GroupID)
		add("user", p.AccountID)
	case *Space:
		add("user", p.Author)
	case *SpacePermission:
		add("space", p.SpaceID)
		if p.PrincipalType != "anonymous" {
			add(p.PrincipalType, p.PrincipalID)
		}
	case *Content:
		add("space", p.SpaceID)
		add("content", p.ParentID)
		add("user", p.Author)
	case *Move:
		add("content", p.ParentID)
	case *Version:
		add("user", p.Author)
	case *Comment:
		add("content", p.ContainerID)
		add("comment", p.ParentID)
		add("user", p.Author)
	case *Attachment:
		add("content", p.ContainerID)
		add("user", p.Author)
	case *AttachmentVersion:
		add("user", p.Author)
	case *Label:
		add("content", p.ContainerID)
	case *Restriction:
		add("content", p.ContainerID)
		add(p.PrincipalType, p.PrincipalID)
	case *Property:
		add("content", p.ContainerID)
	case *Like:
		add(refKind(p.ContainerType), p.ContainerID)
		add("user", p.AccountID)
	}
	add("user", c.Actor)
	return refs
}
