package importer

// The Cloud import's preflight: what it checks before anything is written
// (rights, space keys in use, the bill), in one pass over the archive.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"ferry/cloud"
	"ferry/model"
)

// cloudPreflight checks, before any write, that the credentials work and
// that the account may create spaces and administer the site, and says
// exactly which right is missing.
func cloudPreflight(ctx context.Context, c *cloud.Client) error {
	err := c.CheckRights(ctx, cloud.Right{Operation: "create_space application", Why: "create the archive's spaces"},
		cloud.Right{Operation: "administer application", Why: "administer the site (site admin), which copying permissions and groups needs"})
	if err != nil {
		return err
	}
	return c.Get(ctx, "/wiki/api/v2/spaces", url.Values{"limit": {"1"}}, nil)
}

// adoptSpace takes a space a run killed between creating it and labelling
// it left without its ferry.source property: one this journal says it
// was about to create, or, without the journal, one of the same key and
// name that holds no page but the homepage Cloud made with it. Its
// permissions are then checked as those of a space this import created
// (see checkSpace): a space of the admin's own that only looks the same
// stops the import there, rather than taking in the source's content.
func (ci *cloudImport) adoptSpace(sp *model.Space, id, key string, labelled bool) (bool, error) {
	if labelled {
		return false, nil // another source's, or another space of this one
	}
	intent, _ := ci.j.lookup(ci.site, "space-intent", sp.ID)
	if !strings.EqualFold(intent, key) {
		var found struct {
			ID, Name, HomepageID string
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces/"+id, nil, &found); err != nil || found.Name != sp.Name {
			return false, err
		}
		var pages struct{ Results []struct{ ID string } }
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/pages", url.Values{"space-id": {id}, "limit": {"2"}, "status": cloud.Statuses["pages"]}, &pages); err != nil {
			return false, err
		}
		for _, p := range pages.Results {
			if p.ID != found.HomepageID {
				return false, nil
			}
		}
	}
	if ci.o.DryRun {
		return true, nil // it would be taken; a dry run writes nothing
	}
	prov := Provenance{SourceSite: ci.site, SourceID: sp.ID, ArchiveID: ci.archiveID, Author: sp.Author, CreatedAt: sp.CreatedAt, Groups: ci.j.all(ci.site, "group"),
		CreatedGroups: slices.Sorted(maps.Keys(ci.j.all(ci.site, "group-owned")))}
	if err := ci.addSpaceProperty(id, ProvenanceKey, prov); err != nil {
		return false, err
	}
	if err := ci.j.record(ci.site, "space-intent", sp.ID, key); err != nil {
		return false, err
	}
	return true, ci.recordSpace(sp, id, key)
}

// recordSpace notes in the journal a space this import created, found at
// the destination by a run without the journal of the one that made it.
func (ci *cloudImport) recordSpace(sp *model.Space, id, key string) error {
	if sp.Homepage != "" {
		if err := ci.j.record(ci.site, "space-homepage", sp.ID, sp.Homepage); err != nil {
			return err
		}
	}
	if err := ci.j.record(ci.site, "space-key", sp.ID, key); err != nil {
		return err
	}
	return ci.j.record(ci.site, "space", sp.ID, id)
}

// preflight finds, in one pass over the archive and before anything is
// written, space keys the destination already uses (compared
// case-insensitively) and the users it has no account for.
func (ci *cloudImport) preflight() error {
	if _, err := ci.roleSite(); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	bill := &accessReview{ci: ci}
	var apps []*model.App
	it := ci.f.Events()
	defer it.Close()
	for it.Next() {
		ev := it.Event()
		if ev.Type == string(model.AppInstalled) {
			var a model.App
			if err := json.Unmarshal(ev.Payload, &a); err != nil {
				return err
			}
			apps = append(apps, &a)
			continue
		}
		if ev.Type == string(model.UserCreated) || ev.Type == string(model.UserUpdated) {
			var u model.User
			if err := json.Unmarshal(ev.Payload, &u); err != nil {
				return err
			}
			if err := bill.add(u); err != nil {
				return err
			}
			continue
		}
		if ev.Type == string(model.GroupCreated) {
			var g model.Group
			if err := json.Unmarshal(ev.Payload, &g); err != nil {
				return err
			}
			ci.groups = append(ci.groups, g)
			continue
		}
		if ev.Type != string(model.SpaceCreated) {
			continue
		}
		var sp model.Space
		if err := json.Unmarshal(ev.Payload, &sp); err != nil {
			return err
		}
		if ci.anchor == nil {
			// Set now, cleared below if its key is in use: the first
			// space this import owns.
			ci.anchor = &sp
		}
		if _, ok := ci.j.lookup(ci.site, "space", ev.ID); ok {
			continue
		}
		var found struct {
			Results []struct{ ID, Key string }
		}
		if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces", url.Values{"keys": {strings.Join(slices.Compact([]string{sp.Key, strings.ToUpper(sp.Key), strings.ToLower(sp.Key)}), ",")}}, &found); err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		if len(found.Results) > 0 {
			// One this source's earlier import created (its journal lost)?
			var prop struct{ Value Provenance }
			labelled, err := ci.spaceProperty(found.Results[0].ID, ProvenanceKey, &prop.Value)
			if err != nil {
				return fmt.Errorf("preflight: space %s: %w", sp.Key, err)
			}
			if labelled && prop.Value.SourceSite == ci.site && prop.Value.SourceID == sp.ID {
				if err := ci.recordSpace(&sp, found.Results[0].ID, found.Results[0].Key); err != nil {
					return err
				}
				for source, dest := range prop.Value.Groups {
					if _, known := ci.j.lookup(ci.site, "group", source); !known {
						if err := ci.j.record(ci.site, "group", source, dest); err != nil {
							return err
						}
						if slices.Contains(prop.Value.CreatedGroups, source) {
							if err := ci.j.record(ci.site, "group-owned", source, dest); err != nil {
								return err
							}
						}
					}
				}
				continue
			}
			if adopted, err := ci.adoptSpace(&sp, found.Results[0].ID, found.Results[0].Key, labelled); err != nil || adopted {
				if err != nil {
					return err
				}
				continue
			}
			msg := fmt.Sprintf("space %s: the destination has a space with key %s", sp.Key, found.Results[0].Key)
			ci.report.Conflicts = append(ci.report.Conflicts, msg)
			ci.skipKeys[strings.ToUpper(sp.Key)] = true
			if ci.anchor != nil && ci.anchor.ID == sp.ID {
				ci.anchor = nil
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if ci.anchor == nil { // an increment: a space an earlier run created
		keys := ci.j.all(ci.site, "space-key")
		if ids := slices.Sorted(maps.Keys(keys)); len(ids) > 0 {
			ci.anchor = &model.Space{ID: ids[0], Key: keys[ids[0]]}
		}
	}
	if err := bill.flush(); err != nil {
		return err
	}
	if len(apps) > 0 {
		installed, err := ci.c.Apps(ci.ctx)
		if err != nil {
			return fmt.Errorf("preflight: listing the destination's apps, to find those the source has and it lacks: %w; nothing was imported", err)
		}
		have := map[string]bool{}
		for _, a := range installed {
			have[a.Key] = true
		}
		for _, a := range apps {
			if !have[a.Key] {
				ci.report.MissingApps = append(ci.report.MissingApps, appName(a))
			}
		}
	}
	var stops []error
	if err := checkApps(ci.report, ci.o); err != nil {
		stops = append(stops, err)
	}
	if len(ci.report.Conflicts) > 0 && ci.o.OnConflict == Fail {
		stops = append(stops, stopError{fmt.Errorf("%d conflict(s), nothing was imported (choose --on-conflict skip):\n  %s", len(ci.report.Conflicts), strings.Join(ci.report.Conflicts, "\n  "))})
	}
	return errors.Join(stops...)
}
