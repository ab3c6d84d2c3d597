package cloud

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Right is a site-wide operation an account may need, and why.
type Right struct {
	Operation string // as /user/current?expand=operations names it: "administer application"
	Why       string
}

// CheckRights makes sure, before anything is read or written, that the
// credentials work and that the account has every right listed; the error
// names each missing one.
func (c *Client) CheckRights(ctx context.Context, need ...Right) error {
	var me struct {
		AccountID, DisplayName string
		Operations             []struct{ Operation, TargetType string }
	}
	if err := c.Get(ctx, "/wiki/rest/api/user/current", url.Values{"expand": {"operations"}}, &me); err != nil {
		return err
	}
	has := map[string]bool{}
	for _, op := range me.Operations {
		has[op.Operation+" "+op.TargetType] = true
	}
	var missing []string
	for _, r := range need {
		if !has[r.Operation] {
			missing = append(missing, fmt.Sprintf("%q (to %s)", r.Operation, r.Why))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the account %s (%s) lacks %s: ask an organization admin to grant it", me.DisplayName, me.AccountID, strings.Join(missing, " and "))
	}
	return nil
}
