package sandbox

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Site access, kept apart from accounts as Cloud keeps it (CLOUD.md rule
// 29): an Atlassian account is the same on every site, so users-bulk finds
// it whether or not it may use this site. Which accounts may is asked by
// email (v2 check-access-by-email) and granted by an invitation (v2
// invite-by-email), which takes effect later (InviteTime). Grants to an
// account without access (group memberships, space permissions, content
// restrictions) are refused.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("POST /wiki/api/v2/user/access/check-access-by-email", s.checkAccess)
		s.handle("POST /wiki/api/v2/user/access/invite-by-email", s.inviteByEmail)
	})
}

// invitation is an invite-by-email not yet taken effect.
type invitation struct {
	email string
	at    time.Time
}

// SetAccess gives an account access to the site, or takes it away.
func (s *Server) SetAccess(accountID string, access bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access == nil {
		s.access = map[string]bool{}
	}
	s.access[accountID] = access
}

// Invited lists the emails invited so far, in order.
func (s *Server) Invited() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.invitedEmails...)
}

// hasAccess says whether an account may use the site: as SetAccess or an
// invitation left it, else all but the share WithoutAccess of the
// accounts, picked by a hash of their ids.
func (s *Server) hasAccess(r *http.Request, accountID string) bool {
	s.settleInvitations(r)
	return s.MayUse(accountID)
}

// share says whether id falls in the given share of ids, by a hash salted
// so that different shares (hidden emails, no access) pick independently.
func share(id, salt string, of float64) bool {
	if of <= 0 {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(salt + id))
	return float64(h.Sum32()%1000) < of*1000
}

// accessByEmail says whether some account with this email (compared
// case-insensitively) may use the site.
func (s *Server) accessByEmail(r *http.Request, email string) bool {
	rows, err := s.site.DB().Query(`SELECT account_id FROM users WHERE lower(email) = lower(?) AND status = 'active'`, email)
	if err != nil {
		return false
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		if s.hasAccess(r, id) {
			return true
		}
	}
	return false
}

// emailList reads the body both calls take: 1 to 100 emails (v2 spec,
// CheckAccessOrInviteByEmailRequest), and splits off the invalid ones.
func emailList(w http.ResponseWriter, r *http.Request) (valid, invalid []string, ok bool) {
	var req struct {
		Emails []string `json:"emails"`
	}
	if !readBody(w, r, &req) {
		return nil, nil, false
	}
	if len(req.Emails) == 0 || len(req.Emails) > 100 {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", fmt.Sprintf("emails: give 1 to 100 emails, not %d", len(req.Emails)))
		return nil, nil, false
	}
	for _, e := range req.Emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			invalid = append(invalid, e)
		} else {
			valid = append(valid, e)
		}
	}
	return valid, invalid, true
}

func (s *Server) checkAccess(w http.ResponseWriter, r *http.Request) {
	valid, invalid, ok := emailList(w, r)
	if !ok {
		return
	}
	without := []string{}
	for _, e := range valid {
		if !s.accessByEmail(r, e) {
			without = append(without, e)
		}
	}
	if invalid == nil {
		invalid = []string{}
	}
	writeJSON(w, map[string]any{"emailsWithoutAccess": without, "invalidEmails": invalid})
}

// inviteByEmail takes the invitations and answers 200 at once; each takes
// effect InviteTime later. Invalid emails, and those with access, are
// ignored (v2 spec, inviteByEmail).
func (s *Server) inviteByEmail(w http.ResponseWriter, r *http.Request) {
	valid, _, ok := emailList(w, r)
	if !ok {
		return
	}
	now := s.now()
	for _, e := range valid {
		if s.accessByEmail(r, e) {
			continue
		}
		s.mu.Lock()
		s.invitations = append(s.invitations, invitation{email: e, at: now})
		s.invitedEmails = append(s.invitedEmails, e)
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

// settleInvitations gives access to those invited InviteTime ago or more:
// the account with their email, or a new one when there is none.
func (s *Server) settleInvitations(r *http.Request) {
	wait := s.InviteTime
	if wait == 0 {
		wait = 5 * time.Second
	}
	now := s.now()
	s.mu.Lock()
	var due []invitation
	kept := s.invitations[:0]
	for _, in := range s.invitations {
		if now.Sub(in.at) >= wait {
			due = append(due, in)
		} else {
			kept = append(kept, in)
		}
	}
	s.invitations = kept
	s.mu.Unlock()
	for _, in := range due {
		id, found := s.one(`SELECT account_id FROM users WHERE lower(email) = lower(?) ORDER BY status = 'active' DESC, account_id LIMIT 1`, in.email)
		if !found {
			id = "invited-" + strings.ToLower(in.email)
			err := s.update(r, func(tx *embedded.Tx) error {
				return tx.PutUser(model.User{AccountID: id, Email: in.email, DisplayName: in.email, Status: "active", AccountType: "atlassian"})
			})
			if err != nil {
				continue
			}
		}
		s.SetAccess(id, true)
	}
}

// refuseWithoutAccess answers 400 when the account may not use the site:
// what it would be granted would reach no one who can use it.
func (s *Server) refuseWithoutAccess(w http.ResponseWriter, r *http.Request, accountID string) bool {
	if s.hasAccess(r, accountID) {
		return false
	}
	writeV1Error(w, http.StatusBadRequest, "User "+accountID+" does not have access to this site: invite them first")
	return true
}

// MayUse says whether an account may use the site now (invitations not
// yet due are not counted).
func (s *Server) MayUse(accountID string) bool {
	s.mu.Lock()
	access, set := s.access[accountID]
	s.mu.Unlock()
	if set {
		return access
	}
	return !share(accountID, "access", s.WithoutAccess)
}

// HidesEmail says whether an account's profile hides its email.
func (s *Server) HidesEmail(accountID string) bool { return s.emailHidden(accountID) }
