package importer

// Who of the archive's users may use the destination, found before any
// write: Atlassian accounts are the same on every site, so an account id
// users-bulk finds says only that the person exists; whether they may use
// this site is asked by email (check-access-by-email), and an invitation
// (invite-by-email, with --invite) gives access. Cloud's API finds no
// account by email, so a user whose account id the destination does not
// know (an XML or embedded archive's) is linked only through --map.

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"ferry/cloud"
	"ferry/model"
)

// Access is what the destination knows of a source user.
type Access string

const (
	AccessLinked    Access = "linked"    // an account that may use the site
	AccessUnchecked Access = "unchecked" // an account whose access could not be checked: no email known
	AccessNone      Access = "no-access" // an email without access: an invitation gives it, and grows the bill
	AccessInvited   Access = "invited"   // invited; the invitation had not taken effect when the import went on
	AccessNeedsMap  Access = "needs-map" // an email with access, whose account id the destination does not know
	AccessUnmatched Access = "unmatched" // no account the destination knows, and no email to ask about
	AccessInactive  Access = "inactive"  // deactivated, closed or an app's: never invited
)

// Person is a source user the import could not simply link, and what it
// could not grant them.
type Person struct {
	AccountID   string `json:"source_account_id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name"`
	Access      Access `json:"access"`
	Destination string `json:"destination_account_id,omitempty"`
	// NotGranted names the memberships, permissions and restrictions left
	// out for them, the first maxNotGranted; NotGrantedCount counts all.
	NotGranted      []string `json:"not_granted,omitempty"`
	NotGrantedCount int      `json:"not_granted_count,omitempty"`
	// Refused says the destination refused a grant to them, unchecked,
	// as to someone who may not use it: nothing more is sent for them.
	Refused bool `json:"refused_a_grant,omitempty"`
}

// accessReasons say, per Access, why a user was not linked.
var accessReasons = map[Access]string{
	AccessNone:      "user without access to the destination, not invited (ferry import --invite invites them; each grows the bill)",
	AccessInvited:   "user invited, whose invitation had not taken effect when the import went on (their grants are listed per person)",
	AccessNeedsMap:  "user whose email has access to the destination but whose account id ferry cannot learn (Cloud finds no account by email): map it with --map user,EMAIL,ACCOUNT_ID",
	AccessUnmatched: "user with no account the destination knows and no email to invite",
	AccessInactive:  "deactivated, closed or app user without an account at the destination",
}

// withheldReason is the reason counted for each grant left out because
// its user may not use the destination; the people list says whose.
const withheldReason = "membership, permission or restriction of a user who may not use the destination (listed per person)"

// maxNotGranted is how many grants a person's entry lists by name.
const maxNotGranted = 20

// accessReview resolves the archive's users 100 at a time (the most one
// access check takes).
type accessReview struct {
	ci    *cloudImport
	batch []model.User
	seen  map[string]bool
}

func (b *accessReview) add(u model.User) error {
	if _, known := b.ci.j.lookup(b.ci.site, "user", u.AccountID); known || b.seen[u.AccountID] {
		return nil
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[u.AccountID] = true
	if b.batch = append(b.batch, u); len(b.batch) == 100 {
		return b.flush()
	}
	return nil
}

func (b *accessReview) flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	ci := b.ci
	candidate := map[string]string{} // source account id → destination account id to try
	var ids []string
	for _, u := range b.batch {
		id := ci.o.Map.user(u.AccountID, u.Email)
		if id == "" {
			id = u.AccountID
		}
		candidate[u.AccountID] = id
		ids = append(ids, id)
	}
	var found struct {
		Results []struct{ AccountID, Email string }
	}
	if err := ci.c.PostRepeatable(ci.ctx, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": ids}, &found); err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	exists := map[string]bool{}
	destEmail := map[string]string{}
	for _, r := range found.Results {
		exists[r.AccountID] = true
		destEmail[r.AccountID] = r.Email
	}
	emails := map[string]string{} // source account id → email to check
	var ask []string
	for _, u := range b.batch {
		e := u.Email
		if e == "" {
			e = destEmail[candidate[u.AccountID]] // hidden in the archive, shown here
		}
		if e != "" && validEmail(e) && active(u) {
			emails[u.AccountID] = e
			ask = append(ask, e)
		}
	}
	without, err := ci.withoutAccess(ask)
	if err != nil {
		return err
	}
	for _, u := range b.batch {
		dest := candidate[u.AccountID]
		e, checked := emails[u.AccountID]
		p := &Person{AccountID: u.AccountID, Email: e, DisplayName: u.DisplayName}
		if p.Email == "" {
			p.Email = u.Email
		}
		switch {
		case exists[dest] && (!checked || !without[strings.ToLower(e)]):
			p.Destination = dest
			p.Access = AccessLinked
			if !checked && active(u) {
				p.Access = AccessUnchecked
			}
		case !active(u):
			p.Access = AccessInactive
		case checked && without[strings.ToLower(e)]:
			p.Access = AccessNone
			if exists[dest] {
				p.Destination = dest
			}
		case checked:
			p.Access = AccessNeedsMap
		default:
			p.Access = AccessUnmatched
		}
		ci.people[u.AccountID] = p
		switch p.Access {
		case AccessLinked:
			ci.report.Linked = append(ci.report.Linked, u.AccountID)
		case AccessUnchecked:
			ci.report.Linked = append(ci.report.Linked, u.AccountID)
			ci.report.People = append(ci.report.People, p)
		case AccessNone:
			ci.report.NewBillable++
			ci.report.People = append(ci.report.People, p)
		default:
			ci.report.People = append(ci.report.People, p)
		}
	}
	b.batch = b.batch[:0]
	return nil
}

func active(u model.User) bool {
	return u.Status == "active" && (u.AccountType == "atlassian" || u.AccountType == "")
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e
}

// withoutAccess asks which of up to 100 emails may not use the site; the
// answer is keyed by lower-cased email.
func (ci *cloudImport) withoutAccess(emails []string) (map[string]bool, error) {
	without := map[string]bool{}
	if len(emails) == 0 {
		return without, nil
	}
	var out struct {
		EmailsWithoutAccess []string `json:"emailsWithoutAccess"`
	}
	if err := ci.c.PostRepeatable(ci.ctx, "/wiki/api/v2/user/access/check-access-by-email", map[string]any{"emails": emails}, &out); err != nil {
		return nil, fmt.Errorf("preflight: checking which users may use the destination: %w", err)
	}
	for _, e := range out.EmailsWithoutAccess {
		without[strings.ToLower(e)] = true
	}
	return without, nil
}

// invite invites the people without access (--invite), after the review
// was shown, and waits up to InviteWait for the invitations to take
// effect: those whose do are linked; the others stay listed, and what
// they would have been granted is reported, not written. An email this
// journal says was invited is not invited again.
func (ci *cloudImport) invite() error {
	var emails []string
	byEmail := map[string]*Person{}
	for _, p := range ci.report.People {
		if p.Access != AccessNone {
			continue
		}
		byEmail[strings.ToLower(p.Email)] = p
		if _, done := ci.j.lookup(ci.site, "invited", strings.ToLower(p.Email)); !done {
			emails = append(emails, p.Email)
		}
	}
	if len(byEmail) == 0 {
		return nil
	}
	for start := 0; start < len(emails); start += 100 {
		batch := emails[start:min(start+100, len(emails))]
		if err := ci.c.PostRepeatable(ci.ctx, "/wiki/api/v2/user/access/invite-by-email", map[string]any{"emails": batch}, nil); err != nil {
			return fmt.Errorf("inviting %d users: %w; nothing else was written", len(batch), err)
		}
		for _, e := range batch {
			if err := ci.j.record(ci.site, "invited", strings.ToLower(e), "1"); err != nil {
				return err
			}
		}
	}
	ci.report.Invited += int64(len(emails))
	wait := ci.o.InviteWait
	if wait == 0 {
		wait = 15 * time.Minute
	}
	deadline := ci.c.Now().Add(wait)
	for pause := 2 * time.Second; ; pause = min(2*pause, time.Minute) {
		pending := make([]string, 0, len(byEmail))
		for e := range byEmail {
			pending = append(pending, e)
		}
		for start := 0; start < len(pending); start += 100 {
			batch := pending[start:min(start+100, len(pending))]
			without, err := ci.withoutAccess(batch)
			if err != nil {
				return err
			}
			for _, e := range batch {
				if without[e] {
					continue
				}
				p := byEmail[e]
				delete(byEmail, e)
				if p.Destination == "" {
					p.Access = AccessNeedsMap // invited, but Cloud finds no account by email
					continue
				}
				p.Access = AccessLinked
				ci.report.Linked = append(ci.report.Linked, p.AccountID)
			}
		}
		if len(byEmail) == 0 || !ci.c.Now().Before(deadline) {
			break
		}
		if err := ci.c.Sleep(ci.ctx, min(pause, deadline.Sub(ci.c.Now()))); err != nil {
			return err
		}
	}
	for _, p := range byEmail {
		p.Access = AccessInvited
	}
	kept := ci.report.People[:0]
	for _, p := range ci.report.People {
		if p.Access != AccessLinked {
			kept = append(kept, p)
		}
	}
	ci.report.People = kept
	return nil
}

// withheld notes a grant left out because its user may not use the
// destination, on that person's entry; it says whether the user was one.
func (ci *cloudImport) withheld(accountID, what string, counts *Counts) bool {
	p := ci.people[accountID]
	if p == nil || (p.Access == AccessLinked || p.Access == AccessUnchecked) && !p.Refused {
		return false
	}
	counts.Skipped++
	ci.report.Skipped[withheldReason]++
	if p.NotGrantedCount++; p.NotGrantedCount <= maxNotGranted {
		p.NotGranted = append(p.NotGranted, what)
	}
	return true
}

// refused says whether err is the destination refusing a grant to a user
// (400), as to someone who may not use the site: unchecked (no email to
// ask about), linked by an earlier run and gone since, or sharing an
// email with an account that has access. The grant is then withheld, like
// those that follow for them, and the user is forgotten, so that a re-run
// asks about them again.
func (ci *cloudImport) refused(accountID, what string, err error, counts *Counts) bool {
	var ae *cloud.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return false
	}
	p := ci.people[accountID]
	if p == nil { // linked by an earlier run, and since gone from the site?
		p = &Person{AccountID: accountID, Access: AccessUnchecked}
		ci.people[accountID] = p
	}
	if !slices.Contains(ci.report.People, p) { // linked, checked: listed now
		ci.report.People = append(ci.report.People, p)
	}
	p.Refused = true
	if ferr := ci.j.forget(ci.site, "user", accountID); ferr != nil {
		return false
	}
	return ci.withheld(accountID, what, counts)
}
