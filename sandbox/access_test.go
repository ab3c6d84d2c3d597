package sandbox

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// Rule: site access is not account existence. users-bulk finds an account
// without access; check-access-by-email names the emails without access
// (and the invalid ones); grants to such an account are refused; an
// invitation gives access only once it has taken effect, creating the
// account when no account has the email; emails with access are not
// invited again.
func TestRuleSiteAccess(t *testing.T) {
	site := generatedSite(t)
	h := New(site)
	h.InviteTime = 300 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	var with, without, email string
	site.DB().QueryRow(`SELECT account_id FROM users WHERE status = 'active' AND email IS NOT NULL ORDER BY account_id LIMIT 1`).Scan(&with)
	site.DB().QueryRow(`SELECT account_id, email FROM users WHERE status = 'active' AND email IS NOT NULL ORDER BY account_id LIMIT 1 OFFSET 1`).Scan(&without, &email)
	h.SetAccess(without, false)

	if status, out := call(t, srv, http.MethodPost, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": []string{without}}, false); status != http.StatusOK || len(out["results"].([]any)) != 1 {
		t.Errorf("users-bulk of an account without access: %d %v, want it found", status, out)
	}
	check := func(emails ...string) (without, invalid []string) {
		t.Helper()
		status, out := call(t, srv, http.MethodPost, "/wiki/api/v2/user/access/check-access-by-email", map[string]any{"emails": emails}, false)
		if status != http.StatusOK {
			t.Fatalf("check-access-by-email: %d %v", status, out)
		}
		for _, e := range out["emailsWithoutAccess"].([]any) {
			without = append(without, e.(string))
		}
		for _, e := range out["invalidEmails"].([]any) {
			invalid = append(invalid, e.(string))
		}
		return without, invalid
	}
	var withEmail string
	site.DB().QueryRow(`SELECT email FROM users WHERE account_id = ?`, with).Scan(&withEmail)
	stranger := "nobody.yet@example.org"
	got, invalid := check(withEmail, email, stranger, "not an email")
	if !slices.Equal(got, []string{email, stranger}) || !slices.Equal(invalid, []string{"not an email"}) {
		t.Errorf("without access %v, invalid %v; want [%s %s] and [not an email]", got, invalid, email, stranger)
	}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/user/access/check-access-by-email", map[string]any{"emails": make([]string, 101)}, false); status != http.StatusBadRequest {
		t.Errorf("101 emails: %d, want 400", status)
	}

	// Grants to the account without access are refused; to the other, not.
	var group, key string
	site.DB().QueryRow(`SELECT id FROM groups WHERE deleted_rev IS NULL ORDER BY id LIMIT 1`).Scan(&group)
	site.DB().QueryRow(`SELECT key FROM spaces ORDER BY key LIMIT 1`).Scan(&key)
	member := func(id string) int {
		status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/group/userByGroupId?groupId="+group, map[string]string{"accountId": id}, false)
		return status
	}
	if status := member(without); status != http.StatusBadRequest {
		t.Errorf("adding an account without access to a group: %d, want 400", status)
	}
	if status := member(with); status != http.StatusCreated {
		t.Errorf("adding an account with access to a group: %d, want 201", status)
	}
	grant := map[string]any{"subject": map[string]string{"type": "user", "identifier": without}, "operation": map[string]string{"key": "read", "target": "space"}}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/space/"+key+"/permission", grant, false); status != http.StatusBadRequest {
		t.Errorf("a space permission for an account without access: %d, want 400", status)
	}
	var page string
	site.DB().QueryRow(`SELECT rowid FROM content WHERE type = 'page' AND deleted_rev IS NULL ORDER BY rowid LIMIT 1`).Scan(&page)
	if status, _ := call(t, srv, http.MethodPut, "/wiki/rest/api/content/"+page+"/restriction/byOperation/read/user?accountId="+without, nil, true); status != http.StatusBadRequest {
		t.Errorf("a restriction for an account without access: %d, want 400", status)
	}

	// Invitations: asynchronous; invalid emails and those with access ignored.
	if status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/user/access/invite-by-email", map[string]any{"emails": []string{email, stranger, withEmail, "bad"}}, false); status != http.StatusOK {
		t.Fatalf("invite-by-email: %d", status)
	}
	if got := h.Invited(); !slices.Equal(got, []string{email, stranger}) {
		t.Errorf("invited %v, want only the two without access", got)
	}
	if got, _ := check(email, stranger); len(got) != 2 {
		t.Errorf("access before the invitations took effect: %v still without, want both", got)
	}
	if status := member(without); status != http.StatusBadRequest {
		t.Errorf("a grant before the invitation took effect: %d, want 400", status)
	}
	time.Sleep(400 * time.Millisecond)
	if got, _ := check(email, stranger); len(got) != 0 {
		t.Errorf("after the invitations took effect, still without access: %v", got)
	}
	if status := member(without); status != http.StatusCreated {
		t.Errorf("a grant once invited: %d, want 201", status)
	}
	if n := countOf(t, site, `SELECT count(*) FROM users WHERE email = ?`, stranger); n != 1 {
		t.Errorf("%d accounts for the invited stranger, want 1", n)
	}
}
