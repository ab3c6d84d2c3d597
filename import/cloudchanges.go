package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"ferry/cloud"
	"ferry/model"
)

// What an incremental archive changes in a Confluence Cloud destination:
// moves, space updates and removals. Only what ferry wrote there (the
// journal says so) is moved, changed or removed; what an import linked to,
// such as a merged group, is left alone.

// notFound reports whether err is a 404: removed before, by an earlier run
// or by hand.
func notFound(err error) bool {
	var ae *cloud.APIError
	return errors.As(err, &ae) && ae.Status == 404
}

// move puts a page under its new parent, after its siblings. Cloud keeps
// no positions; it orders siblings as they were put there.
func (ci *cloudImport) move(m *model.Move, counts *Counts) error {
	id, ok := ci.j.lookup(ci.site, "content", m.ID)
	if !ok {
		counts.Skipped++
		ci.report.Skipped["move of a page that was not written"]++
		return nil
	}
	if m.ParentID == "" {
		// The API moves a page under or beside another: to the top of its
		// space, beside a page at the top.
		kind, _ := ci.j.lookup(ci.site, "content-kind", m.ID)
		beside, err := ci.topPage(id, kind)
		if err != nil || beside == "" {
			counts.Skipped++
			ci.report.Skipped["move of a page to the top of a space that has no other page there: move it by hand"]++
			return err
		}
		if err := ci.c.Put(ci.ctx, "/wiki/rest/api/content/"+id+"/move/after/"+beside, nil, nil); err != nil {
			return err
		}
		counts.Updated++
		return nil
	}
	parent, ok, err := ci.written(m.ParentID)
	if err != nil {
		return err
	}
	if !ok {
		counts.Skipped++
		ci.report.Skipped["move of a page under a page that was not written"]++
		return nil
	}
	// Moving a page where it is changes nothing: safe to repeat.
	if err := ci.c.Put(ci.ctx, "/wiki/rest/api/content/"+id+"/move/append/"+parent, nil, nil); err != nil {
		return err
	}
	counts.Updated++
	return nil
}

// topPage finds a page at the top of the space page id is in, other than
// it ("" if there is none).
func (ci *cloudImport) topPage(id, kind string) (string, error) {
	if kind == "" {
		kind = "pages"
	}
	var page struct{ SpaceID string }
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+id, nil, &page); err != nil {
		return "", err
	}
	top := ""
	err := ci.c.List(ci.ctx, "/wiki/api/v2/pages", url.Values{"space-id": {page.SpaceID}, "limit": {"250"}}, func(r json.RawMessage) error {
		var p struct{ ID, ParentID string }
		json.Unmarshal(r, &p)
		if top == "" && p.ParentID == "" && p.ID != id {
			top = p.ID
		}
		return nil
	})
	return top, err
}

// updateSpace writes a space's new name and description.
func (ci *cloudImport) updateSpace(p *model.Space, counts *Counts) error {
	key, ok := ci.j.lookup(ci.site, "space-key", p.ID)
	if !ok {
		counts.Skipped++
		ci.report.Skipped["update of a space that was not written"]++
		return nil
	}
	body := map[string]any{"name": p.Name, "description": map[string]any{"plain": map[string]any{"value": p.Description, "representation": "plain"}}}
	if err := ci.c.Put(ci.ctx, "/wiki/rest/api/space/"+url.PathEscape(key), body, nil); err != nil {
		return err
	}
	counts.Updated++
	return nil
}

// remove applies a deletion or removal to what ferry wrote.
func (ci *cloudImport) remove(t model.EventType, id string, counts *Counts) error {
	del := func(path string) error {
		err := ci.c.Delete(ci.ctx, path)
		switch {
		case notFound(err):
			counts.Unchanged++
			return nil
		case err != nil:
			return err
		}
		counts.Deleted++
		return nil
	}
	skip := func(why string) error {
		counts.Unchanged++
		if why != "" {
			ci.report.Skipped[why]++
		}
		return nil
	}
	switch t {
	case model.PageDeleted, model.BlogpostDeleted, model.FolderDeleted:
		dest, ok := ci.j.lookup(ci.site, "content", id)
		kind, kok := ci.j.lookup(ci.site, "content-kind", id)
		if !ok || !kok {
			return skip("")
		}
		if kind == "folders" {
			// v2 trashes a folder and cannot purge one.
			ci.report.Skipped["folder deleted at the source: in the destination's trash (Confluence Cloud's API cannot purge a folder)"]++
			return del("/wiki/api/v2/folders/" + dest)
		}
		// To the trash, then out of it, as Cloud wants.
		if err := ci.c.Delete(ci.ctx, "/wiki/api/v2/"+kind+"/"+dest); err != nil && !notFound(err) {
			return err
		}
		return del("/wiki/api/v2/" + kind + "/" + dest + "?purge=true")
	case model.CommentDeleted:
		dest, ok := ci.j.lookup(ci.site, "comment", id)
		loc, lok := ci.j.lookup(ci.site, "comment-location", id)
		if !ok || !lok {
			return skip("")
		}
		return del("/wiki/api/v2/" + loc + "-comments/" + dest)
	case model.AttachmentDeleted:
		meta, ok := ci.j.lookup(ci.site, "attachment", id)
		var a model.Attachment
		json.Unmarshal([]byte(meta), &a)
		container, cok := ci.j.lookup(ci.site, "content", a.ContainerID)
		kind, _ := ci.j.lookup(ci.site, "content-kind", a.ContainerID)
		if !ok || !cok {
			return skip("")
		}
		var list struct{ Results []struct{ ID string } }
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+container+"/attachments", url.Values{"filename": {a.Filename}}, &list); err != nil {
			return err
		}
		if len(list.Results) == 0 {
			return skip("")
		}
		// The v2 DELETE takes the number without the "att" of the id.
		return del("/wiki/api/v2/attachments/" + strings.TrimPrefix(list.Results[0].ID, "att"))
	case model.LabelRemoved:
		parts := strings.SplitN(id, ":", 3)
		container, ok := ci.j.lookup(ci.site, "content", parts[0])
		if len(parts) != 3 || !ok {
			return skip("")
		}
		return del("/wiki/rest/api/content/" + container + "/label?name=" + url.QueryEscape(parts[2]))
	case model.RestrictionRemoved:
		parts := strings.SplitN(id, ":", 4)
		if len(parts) != 4 {
			return skip("")
		}
		container, ok := ci.j.lookup(ci.site, "content", parts[0])
		principal, pok := ci.j.lookup(ci.site, parts[2], parts[3])
		if !ok || !pok {
			return skip("")
		}
		// Its id is the key the restriction was noted under when added.
		if err := ci.j.forget(ci.site, "restriction", id); err != nil {
			return err
		}
		path := "/wiki/rest/api/content/" + container + "/restriction/byOperation/" + url.PathEscape(parts[1])
		if parts[2] == "user" {
			return del(path + "/user?accountId=" + url.QueryEscape(principal))
		}
		return del(path + "/byGroupId/" + url.PathEscape(principal))
	case model.PropertyDeleted:
		container, key, _ := strings.Cut(id, ":")
		dest, ok := ci.j.lookup(ci.site, "content", container)
		kind, kok := ci.j.lookup(ci.site, "content-kind", container)
		if !ok || !kok || key == ProvenanceKey {
			return skip("")
		}
		var props struct {
			Results []struct{ ID json.RawMessage }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+dest+"/properties", url.Values{"key": {key}}, &props); err != nil {
			return err
		}
		if len(props.Results) == 0 {
			return skip("")
		}
		return del("/wiki/api/v2/" + kind + "/" + dest + "/properties/" + strings.Trim(string(props.Results[0].ID), `"`))
	case model.MembershipRemoved:
		group, account, _ := strings.Cut(id, ":")
		dest, owned := ci.j.lookup(ci.site, "group-owned", group)
		if !owned {
			return skip("membership removal in a group the import merged into, not created: left alone")
		}
		if err := ci.j.forget(ci.site, "membership", id); err != nil { // its id is GROUP:ACCOUNT, the key it was noted under
			return err
		}
		if mapped, ok := ci.j.lookup(ci.site, "user", account); ok {
			account = mapped // linked through --map
		}
		if ci.membersOf == dest {
			delete(ci.members, account)
		}
		return del("/wiki/rest/api/group/userByGroupId?groupId=" + url.QueryEscape(dest) + "&accountId=" + url.QueryEscape(account))
	case model.GroupDeleted:
		dest, owned := ci.j.lookup(ci.site, "group-owned", id)
		if !owned {
			return skip("deletion of a group the import merged into, not created: left alone")
		}
		return del("/wiki/rest/api/group/by-id?id=" + url.QueryEscape(dest))
	case model.SpacePermissionRevoked:
		rec, ok := ci.j.lookup(ci.site, "space_permission", id)
		f := strings.Split(rec, "\x00")
		if !ok || len(f) != 6 {
			return skip("")
		}
		key, space, ptype, principal, op, target := f[0], f[1], f[2], f[3], f[4], f[5]
		if ci.roles != nil { // a role-based site: the role that fits what is left
			return ci.assignRole(space, ptype, principal, op+":"+target, false, counts)
		}
		var found string
		err := ci.c.List(ci.ctx, "/wiki/api/v2/spaces/"+space+"/permissions", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
			var q struct {
				ID        string
				Principal struct{ Type, ID string }
				Operation struct{ Key, TargetType string }
			}
			json.Unmarshal(r, &q)
			if q.Principal.Type == ptype && q.Principal.ID == principal && q.Operation.Key == op && q.Operation.TargetType == target {
				found = q.ID
			}
			return nil
		})
		if err != nil || found == "" {
			return errors.Join(err, skip(""))
		}
		return del("/wiki/rest/api/space/" + url.PathEscape(key) + "/permission/" + url.PathEscape(found))
	case model.SpaceDeleted:
		key, ok := ci.j.lookup(ci.site, "space-key", id)
		if !ok {
			return skip("")
		}
		return del("/wiki/rest/api/space/" + url.PathEscape(key))
	case model.LikeRemoved:
		counts.NotCopied++
		return nil
	}
	return fmt.Errorf("no way to import %s into Confluence Cloud", t)
}
