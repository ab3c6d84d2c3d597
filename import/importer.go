package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/internal/replay"
	"ferry/internal/rss"
	"ferry/model"
)

// Run imports the archive at path into dest: OpenArchive, then
// RunArchive.
func Run(ctx context.Context, path string, dest Destination, o Options) (*Report, error) {
	a, err := OpenArchive(path, o)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return RunArchive(ctx, a, dest, o)
}

// RunArchive imports an archive OpenArchive opened (and checked) into dest.
func RunArchive(ctx context.Context, a *Archive, dest Destination, o Options) (*Report, error) {
	start := time.Now()
	if o.OnConflict == "" {
		o.OnConflict = Fail
	}
	if o.BatchEvents <= 0 {
		o.BatchEvents = 2000
	}
	f, path := a.File, a.Path
	h, m := f.Header(), f.Manifest()
	im := &importer{f: f, o: o, srcSite: h.Source.SiteID, archiveID: h.ArchiveID, parentID: h.ParentID,
		spaces: map[string]*spaceDecision{}, homepages: map[string]string{},
		report: &Report{Archive: path, ArchiveID: h.ArchiveID, DryRun: o.DryRun, Kinds: map[string]*Counts{},
			NotCopied: map[string]int64{}, Skipped: map[string]int64{}, Changed: map[string]int64{}, Conflicts: []string{}, Merges: []GroupMerge{}, Linked: []string{}, Duplicates: []string{}, MissingApps: []string{}}}
	var state embedded.ImportState
	err := dest.Update(ctx, func(tx Tx) error {
		if h.ParentID != "" {
			ps, ok, err := tx.Imported(h.ParentID)
			if err != nil {
				return err
			}
			if !ok || !ps.Done {
				return fmt.Errorf("archive %s continues archive %s, which was not imported into this site: import that archive (and its own parents) first", h.ArchiveID, h.ParentID)
			}
		}
		var err error
		if state, _, err = tx.Imported(h.ArchiveID); err != nil || state.Done {
			return errors.Join(err, errRollback)
		}
		if err := im.plan(ctx, tx); err != nil {
			return err
		}
		return errRollback // planning writes nothing
	})
	if err != nil && !errors.Is(err, errRollback) {
		return nil, err
	}
	im.report.Events = m.Events.Count
	if state.Done {
		// A finished import run again: nothing to do, and it says so.
		for t, n := range m.Events.ByType {
			im.report.kind(model.EventType(t).Kind()).Unchanged += n
		}
		im.report.Seconds = time.Since(start).Seconds()
		return im.report, nil
	}
	var stops []error
	if err := checkApps(im.report, o); err != nil {
		stops = append(stops, err)
	}
	if o.OnConflict == Fail && len(im.failures) > 0 {
		stops = append(stops, stopError{fmt.Errorf("%d conflict(s), nothing was imported (choose --on-conflict skip or rename, or --map):\n  %s",
			len(im.failures), strings.Join(im.failures, "\n  "))})
	}
	if len(stops) > 0 && !o.DryRun {
		return im.report, errors.Join(stops...)
	}
	im.report.ResumedFrom = state.Seq
	if err := im.apply(ctx, dest, state.Seq); err != nil {
		return im.report, err
	}
	im.report.Seconds, im.report.PeakRSS = time.Since(start).Seconds(), rss.Peak()
	if len(stops) > 0 {
		return im.report, wouldStopError(stops)
	}
	return im.report, nil
}

// importer is one import's state.
type importer struct {
	f         *archive.File
	o         Options
	tx        Tx
	srcSite   string
	archiveID string
	parentID  string
	report    *Report
	failures  []string                  // conflicts the fail policy refuses
	spaces    map[string]*spaceDecision // by source space id
	skipKeys  map[string]string         // upper-cased source key of a space left out → why
	keyMap    map[string]string         // source space key → destination key, where they differ
	needUsers map[string]bool           // with --spaces: source users to import
	needGroup map[string]bool           // with --spaces: source groups to import
	homepages map[string]string         // source space id → source homepage id, set at the end
	cache     map[mapKey]mapped         // recent id map lookups, bounded
	newUsers  map[string]bool           // destination accounts this run created, until they join a group
}

type mapKey struct{ kind, id string }

type mapped struct {
	dest  string
	owned bool
}

// cacheSize bounds the lookup cache, so memory stays flat. The cache is
// emptied when full, and each fill was most of the import's live heap
// swinging up and down: at 65,536 entries, 14 MB of it. At 16,384 the
// 40,000-page bench import peaked 10 MB lower, in the same time.
const cacheSize = 1 << 14

// SoftMemoryLimit is the Go soft memory limit the ferry command sets for
// an import (unless GOMEMLIMIT is set). An import's live heap is small
// (15-30 MB), but what grows with the site (the archive's blob index, 16
// bytes a blob, and the accounts this run created) raised the collector's
// heap goal with it, and with it the peak: 105 -> 128 MB RSS from 40,000
// to 400,000 pages. At this limit, 105 -> 121 MB.
const SoftMemoryLimit = 48 << 20

// spaceDecision is what the plan does with a source space.
type spaceDecision struct {
	key, name string // at the destination
	link      string // a destination space id to import into (--map)
}

// events iterates the archive's events as changes, decoding the payloads
// of those that want says it needs (nil: all).
func (im *importer) events(want func(model.EventType) bool, fn func(seq int64, c *model.Change) error) error {
	return replay.Each(im.f, want, fn)
}

// plan reads the archive once and decides, before any write, what happens
// to spaces whose keys collide, users whose emails match, groups whose
// names match, and who gains access through a merge.
func (im *importer) plan(ctx context.Context, tx Tx) error {
	im.skipKeys, im.keyMap = map[string]string{}, map[string]string{}
	selected := map[string]bool{}
	for _, k := range im.o.Spaces {
		selected[strings.ToUpper(k)] = true
	}
	emails := map[string][]string{}   // lower-cased email → source accounts
	members := map[string][]string{}  // source group → source members
	groupNames := map[string]string{} // source group id → name
	groupAccess := map[string]bool{}  // source groups with permissions or restrictions
	userEmail := map[string]string{}
	refUsers, refGroups := map[string]bool{}, map[string]bool{}
	seen := map[string]bool{} // source space ids
	keys := map[string]bool{} // upper-cased source space keys
	// The plan reads identities, groups, permissions and spaces, and the
	// references of events in the selected spaces.
	needs := func(t model.EventType) bool {
		switch t.Kind() {
		case "user", "group", "membership", "space", "space_permission", "restriction", "app":
			return true
		}
		return len(selected) > 0
	}
	err := im.events(needs, func(seq int64, c *model.Change) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch p := c.Payload.(type) {
		case *model.User:
			if p.Email != "" && c.Type == model.UserCreated {
				e := strings.ToLower(p.Email)
				emails[e] = append(emails[e], p.AccountID)
			}
			userEmail[p.AccountID] = p.Email
		case *model.Group:
			if c.Type == model.GroupCreated {
				groupNames[p.ID] = p.Name
			}
		case *model.App:
			installed, err := tx.AppInstalled(p.Key)
			if err != nil || installed {
				return err
			}
			im.report.MissingApps = append(im.report.MissingApps, appName(p))
		case *model.Membership:
			members[p.GroupID] = append(members[p.GroupID], p.AccountID)
		case *model.SpacePermission:
			if p.PrincipalType == "group" {
				groupAccess[p.PrincipalID] = true
			}
		case *model.Restriction:
			if p.PrincipalType == "group" {
				groupAccess[p.PrincipalID] = true
			}
		case *model.Space:
			if p.Homepage != "" {
				im.homepages[p.ID] = p.Homepage
			}
			if c.Type == model.SpaceCreated && !seen[p.ID] {
				seen[p.ID] = true
				keys[strings.ToUpper(p.Key)] = true
				if len(selected) > 0 && !selected[strings.ToUpper(p.Key)] {
					im.skipKeys[strings.ToUpper(p.Key)] = "not in --spaces"
					return nil
				}
				return im.planSpace(tx, p)
			}
		}
		if c.Space != "" && (len(selected) == 0 || selected[strings.ToUpper(c.Space)]) {
			for _, r := range c.Refs() {
				switch r.Kind {
				case "user":
					refUsers[r.ID] = true
				case "group":
					refGroups[r.ID] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k := range selected {
		if !keys[k] {
			return fmt.Errorf("--spaces: the archive has no space with key %q", k)
		}
	}
	if len(selected) > 0 {
		im.needUsers, im.needGroup = refUsers, refGroups
		for g := range refGroups {
			for _, u := range members[g] {
				im.needUsers[u] = true
			}
		}
	}
	for e, accounts := range emails {
		if len(accounts) > 1 && im.o.Map.user(accounts[1], e) == "" {
			sort.Strings(accounts)
			im.report.Duplicates = append(im.report.Duplicates, fmt.Sprintf("%s: source accounts %s share it (compared case-insensitively) and become one destination account; map them apart with --map", e, strings.Join(accounts, ", ")))
		}
	}
	sort.Strings(im.report.Duplicates)
	return im.planGroups(tx, groupNames, members, groupAccess, userEmail)
}

// planSpace decides what happens to a source space whose key may collide.
func (im *importer) planSpace(tx Tx, s *model.Space) error {
	if _, _, ok, err := tx.Lookup(im.srcSite, "space", s.ID); err != nil || ok {
		im.keyMap[s.Key] = s.Key
		return err // imported before: the map decides
	}
	d := &spaceDecision{key: s.Key, name: s.Name}
	im.spaces[s.ID] = d
	if mapped := im.o.Map.space(s.Key); mapped != "" {
		d.key = mapped
		if id, _, ok, err := tx.SpaceByKey(mapped); err != nil {
			return err
		} else if ok {
			d.link = id
			im.report.Conflicts = append(im.report.Conflicts, fmt.Sprintf("space %s: imported into the existing space %s (--map)", s.Key, mapped))
		}
		im.keyMap[s.Key] = d.key
		return nil
	}
	id, existing, ok, err := tx.SpaceByKey(s.Key)
	if err != nil || !ok {
		im.keyMap[s.Key] = d.key
		return err
	}
	_ = id
	what := fmt.Sprintf("space %s: the destination has a space %s (keys compare case-insensitively)", s.Key, existing)
	switch im.o.OnConflict {
	case Fail:
		im.failures = append(im.failures, what)
		im.report.Conflicts = append(im.report.Conflicts, what+": refused (--on-conflict fail)")
		if im.o.DryRun { // the plan goes on without it, and says the real run would stop
			im.skipKeys[strings.ToUpper(s.Key)] = "space key conflict: the import would stop (--on-conflict fail)"
		}
	case Skip:
		im.skipKeys[strings.ToUpper(s.Key)] = "space key conflict, --on-conflict skip"
		im.report.Conflicts = append(im.report.Conflicts, what+": skipped with everything in it (--on-conflict skip)")
	case Rename:
		free, err := tx.FreeSpaceKey(s.Key)
		if err != nil {
			return err
		}
		d.key, d.name = free, s.Name+" (copied)"
		im.report.Conflicts = append(im.report.Conflicts, fmt.Sprintf("%s: copied as %s, %q (--on-conflict rename)", what, free, d.name))
	}
	im.keyMap[s.Key] = d.key
	return nil
}

// planGroups reports groups whose names the destination already uses: a
// merge, with who gains access through it, or a copy under a new name.
func (im *importer) planGroups(tx Tx, names map[string]string, members map[string][]string, access map[string]bool, email map[string]string) error {
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if im.needGroup != nil && !im.needGroup[id] {
			continue
		}
		if _, _, ok, err := tx.Lookup(im.srcSite, "group", id); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		name := names[id]
		if mapped := im.o.Map.group(name); mapped != "" {
			name = mapped
		}
		destID, ok, err := tx.GroupByName(name)
		if err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if !im.o.MergeGroups {
			im.report.Conflicts = append(im.report.Conflicts, fmt.Sprintf("group %s: the destination has a group of that name, left alone; the source group is copied as %q (use --merge-groups to merge)", name, name+" (copied)"))
			continue
		}
		destMembers, err := tx.GroupMembers(destID)
		if err != nil {
			return err
		}
		inSource := map[string]bool{}
		for _, u := range members[id] {
			if e := email[u]; e != "" {
				inSource[strings.ToLower(e)] = true
			}
			inSource[u] = true
		}
		merge := GroupMerge{Group: name, DestinationMembersGain: []string{}, SourceMembersGain: []string{}}
		destHas := map[string]bool{}
		for _, u := range destMembers {
			destHas[u] = true
			if access[id] && !inSource[u] {
				merge.DestinationMembersGain = append(merge.DestinationMembersGain, u)
			}
		}
		for _, u := range members[id] {
			linked, _, _ := tx.UserByEmail(email[u])
			if !destHas[u] && (linked == "" || !destHas[linked]) {
				who := u
				if email[u] != "" {
					who = email[u]
				}
				merge.SourceMembersGain = append(merge.SourceMembersGain, who)
			}
		}
		im.report.Merges = append(im.report.Merges, merge)
	}
	return nil
}

// appName names an app for a report: name, key and vendor.
func appName(a *model.App) string {
	s := a.Key
	if a.Name != "" && a.Name != a.Key {
		s = a.Name + " (" + a.Key + ")"
	}
	if a.Vendor != "" {
		s += " by " + a.Vendor
	}
	return s
}

// checkApps refuses an import while apps installed at the source are
// missing at the destination, unless o allows it: their data is never
// copied, and macros and links into it break until they are installed.
func checkApps(r *Report, o Options) error {
	sort.Strings(r.MissingApps)
	r.MissingApps = slices.Compact(r.MissingApps)
	if len(r.MissingApps) == 0 || o.AllowMissingApps {
		return nil
	}
	return stopError{fmt.Errorf("%d app(s) installed at the source are missing at the destination, nothing was imported: install them there first, or copy anyway with --allow-missing-apps (their data is not copied, and macros using them will not work):\n  %s",
		len(r.MissingApps), strings.Join(r.MissingApps, "\n  "))}
}

// ErrWouldStop marks what stops an import before it writes anything:
// apps missing at the destination, conflicts the policy refuses. A dry
// run goes on past it, to show the whole plan, then returns an error
// wrapping ErrWouldStop that says what the real run would stop for.
var ErrWouldStop = errors.New("a real import would stop before writing anything")

// errWouldStop is what stopError errors are.
var errWouldStop = ErrWouldStop

// stopError is an error that stops an import before any write.
type stopError struct{ error }

func (e stopError) Is(target error) bool { return target == errWouldStop }
func (e stopError) Unwrap() error        { return e.error }

// wouldStopError is a dry run's verdict on what stops the real run.
func wouldStopError(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%w:\n%s", ErrWouldStop, strings.Join(msgs, "\n"))
}
