package importer

// People into Cloud: users (linked to existing accounts, never created),
// groups (merged by name, or created and noted as the import's own) and
// their members.

import (
	"encoding/json"
	"fmt"
	"net/url"

	"ferry/model"
)

// user links an account the preflight found may use the destination
// (cloudaccess.go); any other is reported, by why.
func (ci *cloudImport) user(u *model.User, counts *Counts) error {
	if _, ok := ci.j.lookup(ci.site, "user", u.AccountID); ok {
		counts.Unchanged++
		return nil
	}
	p := ci.people[u.AccountID]
	if p == nil { // not in the review: a user.created after a later one of the same id
		return nil
	}
	if p.Access != AccessLinked && p.Access != AccessUnchecked {
		counts.NotCopied++
		ci.report.NotCopied[accessReasons[p.Access]]++
		return nil
	}
	counts.Merged++
	return ci.j.record(ci.site, "user", u.AccountID, p.Destination)
}

// group finds or creates a group: a destination group of the same name is
// merged with --merge-groups; otherwise the copy is "NAME (copied)".
func (ci *cloudImport) group(g *model.Group, counts *Counts) error {
	if _, ok := ci.j.lookup(ci.site, "group", g.ID); ok {
		counts.Unchanged++
		return nil
	}
	name := g.Name
	existing, err := ci.groupByName(name)
	if err != nil {
		return err
	}
	if existing != "" && ci.o.MergeGroups {
		ci.report.Merges = append(ci.report.Merges, GroupMerge{Group: g.Name})
		counts.Merged++
		return ci.j.record(ci.site, "group", g.ID, existing)
	}
	if existing != "" {
		if owned, err := ci.intended(g); err != nil || owned {
			if err != nil {
				return err
			}
			counts.Unchanged++ // a killed run created it (its journal lost)
			if err := ci.j.record(ci.site, "group-owned", g.ID, existing); err != nil {
				return err
			}
			return ci.j.record(ci.site, "group", g.ID, existing)
		}
		name = g.Name + " (copied)"
		if existing, err = ci.groupByName(name); err != nil {
			return err
		}
		if existing != "" { // an earlier run's copy
			counts.Unchanged++
			if err := ci.j.record(ci.site, "group-owned", g.ID, existing); err != nil {
				return err
			}
			return ci.j.record(ci.site, "group", g.ID, existing)
		}
	}
	if name == g.Name {
		if err := ci.intendGroups(); err != nil {
			return err
		}
	}
	var created struct{ ID string }
	err = writeChecked(func() error {
		return ci.c.Post(ci.ctx, "/wiki/rest/api/group", map[string]string{"name": name}, &created)
	}, func() (bool, error) {
		id, err := ci.groupByName(name)
		created.ID = id
		return id != "", err
	})
	if err != nil {
		return err
	}
	counts.Created++
	if err := ci.j.record(ci.site, "group-owned", g.ID, created.ID); err != nil {
		return err
	}
	return ci.j.record(ci.site, "group", g.ID, created.ID)
}

// Cloud groups carry no properties, so nothing on a group says ferry
// created it: a re-run that lost its journal would take a group a killed
// run created for one the destination had, and copy it again as
// "NAME (copied)". So before creating the first group under its own name,
// an import writes which of the archive's groups it will create so (those
// the destination lacks then) to a property of its anchor, the first space
// it owns, creating that space ahead of its event if need be. An archive
// that creates no space (an increment) uses a space its journal says an
// earlier run created; without the journal, it has no anchor.
func groupIntentKey(archiveID string) string { return "ferry.groups." + archiveID }

type groupIntent struct {
	SourceSite string            `json:"source_site"`
	Groups     map[string]string `json:"groups"` // source group id → name
}

func (ci *cloudImport) intendGroups() error {
	if ci.intent != nil || ci.anchor == nil {
		return nil
	}
	if _, ok := ci.j.lookup(ci.site, "space-key", ci.anchor.ID); !ok {
		if err := ci.createSpace(ci.anchor); err != nil {
			return fmt.Errorf("creating space %s ahead of its event, to note the groups this import creates: %w", ci.anchor.Key, err)
		}
		ci.report.kind(model.SpaceCreated.Kind()).Created++
		ci.anchorEarly = true
	}
	space, ok := ci.j.lookup(ci.site, "space", ci.anchor.ID)
	if !ok {
		return fmt.Errorf("space %s: created, but its id is not in the journal", ci.anchor.Key)
	}
	intent, err := ci.readIntent(space)
	if err != nil || intent != nil { // a killed run wrote it already
		ci.intent = intent
		return err
	}
	intent = map[string]string{}
	for _, g := range ci.groups {
		if _, known := ci.j.lookup(ci.site, "group", g.ID); known {
			continue
		}
		if existing, err := ci.groupByName(g.Name); err != nil {
			return err
		} else if existing == "" {
			intent[g.ID] = g.Name
		}
	}
	err = writeChecked(func() error {
		return ci.addSpaceProperty(space, groupIntentKey(ci.archiveID), groupIntent{SourceSite: ci.site, Groups: intent})
	}, func() (bool, error) {
		found, err := ci.readIntent(space)
		return found != nil, err
	})
	if err != nil {
		return err
	}
	ci.intent = intent
	return nil
}

// intended says whether a run of this import created g under its own name.
func (ci *cloudImport) intended(g *model.Group) (bool, error) {
	if ci.intent == nil {
		if !ci.rerun || ci.anchor == nil {
			return false, nil
		}
		space, ok := ci.j.lookup(ci.site, "space", ci.anchor.ID)
		if !ok {
			return false, nil
		}
		intent, err := ci.readIntent(space)
		if err != nil || intent == nil {
			return false, err
		}
		ci.intent = intent
	}
	return ci.intent[g.ID] == g.Name, nil
}

// readIntent reads the group intent from the anchor space: nil when absent.
func (ci *cloudImport) readIntent(space string) (map[string]string, error) {
	var prop struct{ Value groupIntent }
	found, err := ci.spaceProperty(space, groupIntentKey(ci.archiveID), &prop.Value)
	if notFound(err) || err == nil && (!found || prop.Value.SourceSite != ci.site) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if prop.Value.Groups == nil {
		prop.Value.Groups = map[string]string{}
	}
	return prop.Value.Groups, nil
}

// groupName names a source group for a report.
func (ci *cloudImport) groupName(id string) string {
	for _, g := range ci.groups {
		if g.ID == id {
			return g.Name
		}
	}
	return id
}

func (ci *cloudImport) groupByName(name string) (string, error) {
	var found struct{ ID string }
	err := ci.c.Get(ci.ctx, "/wiki/rest/api/group/by-name", url.Values{"name": {name}}, &found)
	if notFound(err) {
		return "", nil
	}
	return found.ID, err
}

func (ci *cloudImport) membership(m *model.Membership, counts *Counts) error {
	group, gok := ci.j.lookup(ci.site, "group", m.GroupID)
	account, uok := ci.j.lookup(ci.site, "user", m.AccountID)
	what := "membership of group " + ci.groupName(m.GroupID)
	if ci.withheld(m.AccountID, what, counts) {
		return nil
	}
	if !gok || !uok {
		counts.Skipped++
		ci.report.Skipped["membership of a group or user not at the destination"]++
		return nil
	}
	// Adding a member again changes nothing, but a re-run should not write
	// at all: the journal knows, or the group's members (read once).
	key := m.GroupID + ":" + m.AccountID
	if _, done := ci.j.lookup(ci.site, "membership", key); done {
		counts.Unchanged++
		return nil
	}
	members, err := ci.groupMembers(group)
	if err != nil {
		return err
	}
	if members[account] {
		counts.Unchanged++
	} else {
		if err := ci.c.PostRepeatable(ci.ctx, "/wiki/rest/api/group/userByGroupId?groupId="+url.QueryEscape(group), map[string]string{"accountId": account}, nil); err != nil {
			if ci.refused(m.AccountID, what, err, counts) {
				return nil
			}
			return err
		}
		members[account] = true
		counts.Created++
	}
	return ci.j.record(ci.site, "membership", key, "1")
}

// groupMembers reads a destination group's members once per run: a
// group's memberships come together, so one group is kept at a time.
func (ci *cloudImport) groupMembers(group string) (map[string]bool, error) {
	if ci.membersOf == group {
		return ci.members, nil
	}
	members := map[string]bool{}
	err := ci.c.List(ci.ctx, "/wiki/rest/api/group/"+url.PathEscape(group)+"/membersByGroupId", url.Values{"limit": {"200"}}, func(r json.RawMessage) error {
		var m struct{ AccountID string }
		if err := json.Unmarshal(r, &m); err != nil {
			return err
		}
		members[m.AccountID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	ci.membersOf, ci.members = group, members
	return members, nil
}
