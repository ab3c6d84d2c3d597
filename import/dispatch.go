package importer

import (
	"fmt"
	"strings"

	"ferry/model"
)

// dispatch applies one change to the destination.
func (im *importer) dispatch(c *model.Change) (outcome, error) {
	switch p := c.Payload.(type) {
	case *model.User:
		return im.putUser(c, p)
	case *model.Group:
		return im.group(c, p)
	case *model.Membership:
		return im.membership(c, p)
	case *model.Space:
		return im.space(c, p)
	case *model.SpacePermission:
		return im.permission(c, p)
	case *model.Content:
		return im.content(c, p)
	case *model.Version:
		return im.version(c, p)
	case *model.Move:
		return im.owned("content", c.ID, "content linked, not moved", func(d string) error {
			parent, err := im.must("content", p.ParentID)
			if err != nil {
				return err
			}
			return im.tx.MoveContent(d, parent, p.Position)
		})
	case *model.StatusChange:
		return im.owned("content", c.ID, "content linked, status kept", func(d string) error { return im.tx.SetContentStatus(d, p.Status) })
	case *model.Comment:
		return im.comment(c, p)
	case *model.Attachment:
		return im.attachment(c, p)
	case *model.AttachmentVersion:
		return im.attachmentVersion(c, p)
	case *model.Label:
		return im.relation(c, func() (string, error) {
			container, err := im.must("content", p.ContainerID)
			if err != nil {
				return "", err
			}
			return relationID(container, p.Prefix, p.Name), im.tx.AddLabel(model.Label{ContainerID: container, Prefix: p.Prefix, Name: p.Name})
		})
	case *model.Restriction:
		return im.relation(c, func() (string, error) {
			container, err := im.must("content", p.ContainerID)
			if err != nil {
				return "", err
			}
			principal, err := im.must(p.PrincipalType, p.PrincipalID)
			if err != nil {
				return "", err
			}
			return relationID(container, p.Operation, p.PrincipalType, principal),
				im.tx.AddRestriction(model.Restriction{ContainerID: container, Operation: p.Operation, PrincipalType: p.PrincipalType, PrincipalID: principal})
		})
	case *model.Property:
		container, err := im.must("content", p.ContainerID)
		if err != nil {
			return "", err
		}
		d, _, err := im.lookup("property", c.ID)
		if err != nil {
			return "", err
		}
		if err := im.tx.SetProperty(model.Property{ContainerID: container, Key: p.Key, Value: p.Value, Version: p.Version}); err != nil {
			return "", err
		}
		if d != "" {
			return updated, nil
		}
		return created, im.record("property", c.ID, relationID(container, p.Key), true)
	case *model.Like:
		return im.relation(c, func() (string, error) {
			kind := "content"
			if p.ContainerType == "comment" {
				kind = "comment"
			}
			container, err := im.must(kind, p.ContainerID)
			if err != nil {
				return "", err
			}
			account, err := im.must("user", p.AccountID)
			if err != nil {
				return "", err
			}
			return relationID(container, account), im.tx.AddLike(model.Like{ContainerID: container, ContainerType: p.ContainerType, AccountID: account, At: p.At})
		})
	case *model.Deleted:
		return im.remove(c)
	}
	return "", fmt.Errorf("no way to import %T", c.Payload)
}

// relation adds a label, restriction or like once, recording it.
func (im *importer) relation(c *model.Change, add func() (string, error)) (outcome, error) {
	kind := c.Type.Kind()
	if d, _, err := im.lookup(kind, c.ID); err != nil || d != "" {
		return unchanged, err
	}
	destID, err := add()
	if err != nil {
		return "", err
	}
	return created, im.record(kind, c.ID, destID, true)
}

// putUser links a source user to the destination account with the same
// email (or the --map one), or creates the account.
func (im *importer) putUser(c *model.Change, u *model.User) (outcome, error) {
	d, owned, err := im.lookup("user", u.AccountID)
	if err != nil {
		return "", err
	}
	if d != "" {
		if !owned || c.Type == model.UserCreated {
			return unchanged, nil
		}
		v := *u
		v.AccountID = d
		return updated, im.tx.PutUser(v)
	}
	target := im.o.Map.user(u.AccountID, u.Email)
	if target == "" && u.Email != "" {
		if target, _, err = im.tx.UserByEmail(u.Email); err != nil {
			return "", err
		}
	}
	if target != "" {
		// The account may be one this import copied from another source
		// account with the same email: that is not an existing account.
		sibling := im.newUsers[target]
		if !sibling {
			n, err := im.tx.MappedFrom(im.srcSite, "user", target)
			if err != nil {
				return "", err
			}
			sibling = n > 0
		}
		switch {
		case sibling && len(im.report.SameEmail) < 10000:
			im.report.SameEmail = append(im.report.SameEmail, fmt.Sprintf("%s (%s) → the account copied for another source account with that email, %s", u.AccountID, u.Email, target))
		case !sibling && len(im.report.Linked) < 10000:
			im.report.Linked = append(im.report.Linked, fmt.Sprintf("%s (%s) → existing account %s", u.AccountID, u.Email, target))
		}
		return merged, im.record("user", u.AccountID, target, false)
	}
	v := *u
	if taken, err := im.tx.UserExists(u.AccountID); err != nil {
		return "", err
	} else if taken {
		if v.AccountID, err = im.tx.NewID("account-"); err != nil {
			return "", err
		}
	}
	if err := im.tx.PutUser(v); err != nil {
		return "", err
	}
	if im.newUsers == nil {
		im.newUsers = map[string]bool{}
	}
	im.newUsers[v.AccountID] = true
	return created, im.record("user", u.AccountID, v.AccountID, true)
}

func (im *importer) group(c *model.Change, g *model.Group) (outcome, error) {
	switch c.Type {
	case model.GroupRenamed:
		return im.owned("group", c.ID, "merged group keeps its destination name", func(d string) error {
			name, err := im.freeGroupName(g.Name)
			if err != nil {
				return err
			}
			return im.tx.RenameGroup(d, name)
		})
	}
	if d, _, err := im.lookup("group", g.ID); err != nil || d != "" {
		return unchanged, err
	}
	name := g.Name
	if mapped := im.o.Map.group(name); mapped != "" {
		name = mapped
	}
	existing, ok, err := im.tx.GroupByName(name)
	if err != nil {
		return "", err
	}
	if ok && im.o.MergeGroups {
		return merged, im.record("group", g.ID, existing, false)
	}
	if ok {
		if name, err = im.freeGroupName(name + " (copied)"); err != nil {
			return "", err
		}
	}
	id, err := im.tx.NewID("group-")
	if err != nil {
		return "", err
	}
	if err := im.tx.CreateGroup(model.Group{ID: id, Name: name}); err != nil {
		return "", err
	}
	return created, im.record("group", g.ID, id, true)
}

// freeGroupName returns name, or name with a number, that no group uses.
func (im *importer) freeGroupName(name string) (string, error) {
	candidate := name
	for n := 2; ; n++ {
		_, ok, err := im.tx.GroupByName(candidate)
		if err != nil || !ok {
			return candidate, err
		}
		candidate = fmt.Sprintf("%s %d", name, n)
	}
}

func (im *importer) membership(c *model.Change, m *model.Membership) (outcome, error) {
	return im.relation(c, func() (string, error) {
		group, err := im.must("group", m.GroupID)
		if err != nil {
			return "", err
		}
		account, err := im.must("user", m.AccountID)
		if err != nil {
			return "", err
		}
		if im.newUsers[account] {
			im.report.NewBillable++
			delete(im.newUsers, account) // counted once
		}
		return relationID(group, account), im.tx.AddMembership(model.Membership{GroupID: group, AccountID: account})
	})
}

func (im *importer) space(c *model.Change, s *model.Space) (outcome, error) {
	if c.Type == model.SpaceUpdated {
		return im.owned("space", s.ID, "existing space not overwritten", func(d string) error {
			v, err := im.destSpace(s, d)
			if err != nil {
				return err
			}
			if page, _, err := im.lookup("content", s.Homepage); err == nil {
				v.Homepage = page
			}
			return im.tx.UpdateSpace(v)
		})
	}
	if d, _, err := im.lookup("space", s.ID); err != nil || d != "" {
		return unchanged, err
	}
	if dec := im.spaces[s.ID]; dec != nil && dec.link != "" {
		return merged, im.record("space", s.ID, dec.link, false)
	}
	return im.create("space", s.ID, "space-", func(id string) error {
		v, err := im.destSpace(s, id)
		if err != nil {
			return err
		}
		return im.tx.CreateSpace(v)
	})
}

// destSpace is a source space as the destination stores it: its key and
// name as the plan decided, its logo copied, its author mapped.
func (im *importer) destSpace(s *model.Space, destID string) (model.Space, error) {
	v := *s
	v.ID, v.Homepage = destID, ""
	if dec := im.spaces[s.ID]; dec != nil {
		v.Key, v.Name = dec.key, dec.name
		if s.Name != dec.name && !strings.HasSuffix(s.Name, " (copied)") && strings.HasSuffix(dec.name, " (copied)") {
			v.Name = s.Name + " (copied)"
		}
	} else if k, ok := im.keyMap[s.Key]; ok {
		v.Key = k
	}
	if v.Logo != "" {
		if err := im.copyBlob(v.Logo); err != nil {
			return v, err
		}
	}
	var err error
	v.Author, err = im.user(s.Author)
	return v, err
}

func (im *importer) permission(c *model.Change, p *model.SpacePermission) (outcome, error) {
	return im.create("space_permission", p.ID, "perm-", func(id string) error {
		space, err := im.must("space", p.SpaceID)
		if err != nil {
			return err
		}
		v := *p
		v.ID, v.SpaceID = id, space
		if p.PrincipalType != "anonymous" {
			if v.PrincipalID, err = im.must(p.PrincipalType, p.PrincipalID); err != nil {
				return err
			}
		}
		return im.tx.GrantPermission(v)
	})
}

func (im *importer) content(c *model.Change, p *model.Content) (outcome, error) {
	return im.create("content", p.ID, "content-", func(id string) error {
		space, err := im.must("space", p.SpaceID)
		if err != nil {
			return err
		}
		parent, err := im.must("content", p.ParentID)
		if err != nil {
			return err
		}
		author, err := im.user(p.Author)
		if err != nil {
			return err
		}
		return im.tx.CreateContent(model.Content{ID: id, Type: p.Type, SpaceID: space, ParentID: parent, Position: p.Position,
			Status: p.Status, CreatedAt: p.CreatedAt, Author: author})
	})
}

// version adds a version of a page, blog post or comment, its body's
// references rewritten, unless the destination has that version.
func (im *importer) version(c *model.Change, v *model.Version) (outcome, error) {
	kind := "content"
	if c.Type == model.CommentVersion {
		kind = "comment"
	}
	owner, err := im.must(kind, c.ID)
	if err != nil {
		return "", err
	}
	w := *v
	w.ContentID = owner
	if w.Body, err = im.rewrite(v.Body); err != nil {
		return "", err
	}
	if w.Author, err = im.user(v.Author); err != nil {
		return "", err
	}
	add := im.tx.AddVersionIfNew
	if kind == "comment" {
		add = im.tx.AddCommentVersionIfNew
	}
	// One statement both checks and adds: a version already there is kept.
	added, err := add(w)
	if err != nil || !added {
		return unchanged, err
	}
	return created, nil
}

func (im *importer) comment(c *model.Change, p *model.Comment) (outcome, error) {
	return im.create("comment", p.ID, "comment-", func(id string) error {
		container, err := im.must("content", p.ContainerID)
		if err != nil {
			return err
		}
		parent, err := im.must("comment", p.ParentID)
		if err != nil {
			return err
		}
		v := *p
		v.ID, v.ContainerID, v.ParentID = id, container, parent
		if v.Author, err = im.user(p.Author); err != nil {
			return err
		}
		return im.tx.CreateComment(v)
	})
}

func (im *importer) attachment(c *model.Change, p *model.Attachment) (outcome, error) {
	return im.create("attachment", p.ID, "att-", func(id string) error {
		container, err := im.must("content", p.ContainerID)
		if err != nil {
			return err
		}
		v := *p
		v.ID, v.ContainerID = id, container
		if v.Author, err = im.user(p.Author); err != nil {
			return err
		}
		return im.tx.CreateAttachment(v)
	})
}

func (im *importer) attachmentVersion(c *model.Change, p *model.AttachmentVersion) (outcome, error) {
	owner, err := im.must("attachment", p.AttachmentID)
	if err != nil {
		return "", err
	}
	if ok, err := im.tx.VersionExists("attachment", owner, p.Number); err != nil || ok {
		return unchanged, err
	}
	if err := im.copyBlob(p.Blob); err != nil {
		return "", err
	}
	v := *p
	v.AttachmentID = owner
	if v.Author, err = im.user(p.Author); err != nil {
		return "", err
	}
	return created, im.tx.AddAttachmentVersion(v)
}

// copyBlob stores a blob from the archive unless the destination has it.
func (im *importer) copyBlob(digest string) error {
	if ok, err := im.tx.HasBlob(digest); err != nil || ok {
		return err
	}
	r, err := im.f.OpenBlob(digest)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := im.tx.PutBlobAs(digest, r); err != nil {
		return fmt.Errorf("blob %s: %w", digest, err)
	}
	return nil
}

// remove applies a deletion or removal to what the import wrote.
func (im *importer) remove(c *model.Change) (outcome, error) {
	switch c.Type {
	case model.GroupDeleted:
		return im.deleteOwned("group", c.ID, "merged group not deleted", im.tx.DeleteGroup)
	case model.SpaceDeleted:
		return im.deleteOwned("space", c.ID, "existing space not deleted", im.tx.DeleteSpace)
	case model.SpacePermissionRevoked:
		return im.deleteOwned("space_permission", c.ID, "", im.tx.RevokePermission)
	case model.PageDeleted, model.BlogpostDeleted, model.FolderDeleted:
		// A child still here was moved at the source before this purge
		// and is purged later in the archive (an increment holds no move
		// of what it deletes): it goes up, as Confluence lifts a purged
		// page's children, until then.
		return im.deleteOwned("content", c.ID, "", func(d string) error {
			if err := im.tx.LiftChildren(d); err != nil {
				return err
			}
			return im.tx.DeleteContent(d)
		})
	case model.CommentDeleted:
		return im.deleteOwned("comment", c.ID, "", im.tx.DeleteComment)
	case model.AttachmentDeleted:
		return im.deleteOwned("attachment", c.ID, "", im.tx.DeleteAttachment)
	case model.MembershipRemoved:
		return im.removeRelation("membership", c.ID, func(p []string) error {
			return im.tx.RemoveMembership(model.Membership{GroupID: p[0], AccountID: p[1]})
		})
	case model.LabelRemoved:
		return im.removeRelation("label", c.ID, func(p []string) error {
			return im.tx.RemoveLabel(model.Label{ContainerID: p[0], Prefix: p[1], Name: p[2]})
		})
	case model.RestrictionRemoved:
		return im.removeRelation("restriction", c.ID, func(p []string) error {
			return im.tx.RemoveRestriction(model.Restriction{ContainerID: p[0], Operation: p[1], PrincipalType: p[2], PrincipalID: p[3]})
		})
	case model.PropertyDeleted:
		return im.removeRelation("property", c.ID, func(p []string) error { return im.tx.DeleteProperty(p[0], p[1]) })
	case model.LikeRemoved:
		return im.removeRelation("like", c.ID, func(p []string) error { return im.tx.RemoveLike(p[0], p[1]) })
	}
	return "", fmt.Errorf("no way to import %s", c.Type)
}

// deleteOwned deletes an entity the import created; what it linked to
// stays. A deletion of something already gone changes nothing.
func (im *importer) deleteOwned(kind, srcID string, linkedWhy outcome, del func(string) error) (outcome, error) {
	d, owned, err := im.lookup(kind, srcID)
	switch {
	case err != nil:
		return "", err
	case d == "":
		return unchanged, nil
	case !owned && linkedWhy != "":
		return linkedWhy, nil
	}
	if err := del(d); err != nil {
		if strings.Contains(err.Error(), "no such entity") {
			return unchanged, nil // deleted before (a cascade, or an earlier run)
		}
		return "", err
	}
	return deleted, nil
}
