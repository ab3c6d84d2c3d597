package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// State is what a sequence of changes amounts to: every live entity's
// latest state, with its versions. Replaying a full archive, or a full
// archive and its increments, into a State gives the site's final state;
// two States compare by Digest. Apply checks the ordering guarantee: an
// event may only refer to entities that exist.
//
// State holds the whole site in memory; it is for tests and small sites.
type State struct {
	entities map[Ref]*entry
}

type entry struct {
	state    any
	versions map[int]any
}

// NewState returns an empty state.
func NewState() *State { return &State{entities: map[Ref]*entry{}} }

// Apply applies one change, after checking that everything it refers to
// exists.
func (s *State) Apply(c *Change) error {
	for _, r := range c.Refs() {
		if _, ok := s.entities[r]; !ok {
			return fmt.Errorf("%s %s refers to %s %s, which does not exist (yet)", c.Type, c.ID, r.Kind, r.ID)
		}
	}
	subject := c.Subject()
	e := s.entities[subject]
	switch p := c.Payload.(type) {
	case *Version:
		e.versions[p.Number] = p
	case *AttachmentVersion:
		e.versions[p.Number] = p
	case *Move:
		moved := *e.state.(*Content)
		moved.ParentID, moved.Position = p.ParentID, p.Position
		e.state = &moved
	case *StatusChange:
		changed := *e.state.(*Content)
		changed.Status = p.Status
		e.state = &changed
	case *Deleted:
		delete(s.entities, subject)
	case *Group:
		g := *p
		g.OldName = "" // what a rename came from is the event's, not the group's
		s.entities[subject] = &entry{state: &g, versions: map[int]any{}}
	default:
		if e == nil {
			s.entities[subject] = &entry{state: p, versions: map[int]any{}}
		} else {
			e.state = p
		}
	}
	return nil
}

// Has reports whether an entity exists.
func (s *State) Has(r Ref) bool { _, ok := s.entities[r]; return ok }

// Counts returns the number of live entities per kind.
func (s *State) Counts() map[string]int {
	out := map[string]int{}
	for r := range s.entities {
		out[r.Kind]++
	}
	return out
}

// Digest hashes the state canonically: entities sorted by kind and id,
// each with its state and versions as JSON.
func (s *State) Digest() string {
	refs := make([]Ref, 0, len(s.entities))
	for r := range s.entities {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Kind != refs[j].Kind {
			return refs[i].Kind < refs[j].Kind
		}
		return refs[i].ID < refs[j].ID
	})
	h := sha256.New()
	for _, r := range refs {
		e := s.entities[r]
		b, _ := json.Marshal(e.state)
		fmt.Fprintf(h, "%s\t%s\t%s\n", r.Kind, r.ID, b)
		nums := make([]int, 0, len(e.versions))
		for n := range e.versions {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			b, _ := json.Marshal(e.versions[n])
			fmt.Fprintf(h, "\tv%d\t%s\n", n, b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff lists up to max entities whose state differs between s and o.
func (s *State) Diff(o *State, max int) []string {
	var out []string
	for r, e := range s.entities {
		oe, ok := o.entities[r]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %s only in the first", r.Kind, r.ID))
		default:
			a, _ := json.Marshal(e.state)
			b, _ := json.Marshal(oe.state)
			av, _ := json.Marshal(e.versions)
			bv, _ := json.Marshal(oe.versions)
			if string(a) != string(b) || string(av) != string(bv) {
				out = append(out, fmt.Sprintf("%s %s differs:\n  %s\n  %s", r.Kind, r.ID, a, b))
			}
		}
		if len(out) >= max {
			return out
		}
	}
	for r := range o.entities {
		if _, ok := s.entities[r]; !ok {
			out = append(out, fmt.Sprintf("%s %s only in the second", r.Kind, r.ID))
			if len(out) >= max {
				break
			}
		}
	}
	return out
}

// Each calls fn for every live entity with its state and its versions in
// version order, in no particular order of entities.
func (s *State) Each(fn func(r Ref, state any, versions []any)) {
	for r, e := range s.entities {
		nums := make([]int, 0, len(e.versions))
		for n := range e.versions {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		vs := make([]any, len(nums))
		for i, n := range nums {
			vs[i] = e.versions[n]
		}
		fn(r, e.state, vs)
	}
}
