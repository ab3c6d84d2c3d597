package sandbox

import (
	"context"
	"fmt"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Hidden is what Restrict hid from the sandbox's caller, by the ids the
// API shows.
type Hidden struct {
	Space, SpaceKey string   // a space the caller may not read
	Pages           []string // a restricted page and its descendants, in another space
}

// Restrict makes part of a site invisible to the sandbox's caller without
// an admin key, for tests and rehearsals: the first space that grants
// read to the default access group (group-0000 of a generated site) stops
// doing so, and a page with children in another space is restricted to
// group-0001, which the caller is not in. The site's other restrictions
// are removed, so that exactly these parts are hidden.
func Restrict(ctx context.Context, site *embedded.Site) (*Hidden, error) {
	db := site.DB()
	h := &Hidden{}
	var spaceID, perm string
	if err := db.QueryRowContext(ctx, `SELECT s.rowid, s.key, s.id, p.id FROM spaces s JOIN space_permissions p ON p.space_id = s.id
		WHERE p.principal_type = 'group' AND p.principal_id = 'group-0000' AND p.operation = 'read:space' AND p.deleted_rev IS NULL
		AND s.deleted_rev IS NULL ORDER BY s.rowid LIMIT 1`).Scan(&h.Space, &h.SpaceKey, &spaceID, &perm); err != nil {
		return nil, fmt.Errorf("restrict: no space the default group reads: %w", err)
	}
	var parent string
	if err := db.QueryRowContext(ctx, `SELECT p.id FROM content p WHERE p.space_id != ? AND p.type = 'page' AND p.deleted_rev IS NULL
		AND EXISTS (SELECT 1 FROM content c WHERE c.parent_id = p.id AND c.deleted_rev IS NULL) ORDER BY p.rowid LIMIT 1`, spaceID).Scan(&parent); err != nil {
		return nil, fmt.Errorf("restrict: no page with children outside space %s: %w", h.SpaceKey, err)
	}
	var existing []model.Restriction
	rows, err := db.QueryContext(ctx, `SELECT container_id, operation, principal_type, principal_id FROM restrictions WHERE deleted_rev IS NULL`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r model.Restriction
		if err := rows.Scan(&r.ContainerID, &r.Operation, &r.PrincipalType, &r.PrincipalID); err != nil {
			rows.Close()
			return nil, err
		}
		existing = append(existing, r)
	}
	rows.Close()
	err = site.Update(ctx, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), "", func(tx *embedded.Tx) error {
		for _, r := range existing {
			if err := tx.RemoveRestriction(r); err != nil {
				return err
			}
		}
		if err := tx.RevokePermission(perm); err != nil {
			return err
		}
		return tx.AddRestriction(model.Restriction{ContainerID: parent, Operation: "read", PrincipalType: "group", PrincipalID: "group-0001"})
	})
	if err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT c.id FROM content c JOIN sub ON c.parent_id = sub.id)
		SELECT c.rowid FROM content c JOIN sub ON sub.id = c.id WHERE c.deleted_rev IS NULL ORDER BY c.rowid`, parent)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		h.Pages = append(h.Pages, id)
	}
	return h, rows.Err()
}
