package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	importer "ferry/import"
)

// peopleCounts counts the review's people by what the destination knows
// of them.
func peopleCounts(r *importer.Report) map[importer.Access]int {
	n := map[importer.Access]int{}
	for _, p := range r.People {
		n[p.Access]++
	}
	return n
}

// printPeopleReview prints who of the archive's users may use a Confluence
// Cloud destination: what an admin decides invitations, and the bill, on.
func printPeopleReview(r *importer.Report, indent string) {
	n := peopleCounts(r)
	printf("%susers with an account that may use the destination (linked): %d\n", indent, len(r.Linked)-n[importer.AccessUnchecked])
	printf("%susers whose access could not be checked (email hidden or invalid; linked to their account, unchecked): %d\n", indent, n[importer.AccessUnchecked])
	listPeople(r, importer.AccessUnchecked, indent+"    ")
	printf("%susers without access: %d (an invitation gives it and grows the bill by one each; ferry import --invite invites them, inspect --users-csv lists them)\n", indent, n[importer.AccessNone]+n[importer.AccessInvited])
	if r.Invited > 0 || n[importer.AccessInvited] > 0 {
		printf("%s  invited by this run: %d; not yet in effect when it went on: %d\n", indent, r.Invited, n[importer.AccessInvited])
	}
	printf("%susers whose email may use the destination but whose account id is unknown: %d (Cloud finds no account by email: add --map lines user,EMAIL,ACCOUNT_ID)\n", indent, n[importer.AccessNeedsMap])
	listPeople(r, importer.AccessNeedsMap, indent+"    ")
	printf("%susers with no known account and no email, who cannot be matched: %d\n", indent, n[importer.AccessUnmatched])
	if n[importer.AccessInactive] > 0 {
		printf("%sdeactivated, closed or app users without an account there (never invited): %d\n", indent, n[importer.AccessInactive])
	}
}

// listPeople names the first 20 people of one kind (--format json lists
// all).
func listPeople(r *importer.Report, a importer.Access, indent string) {
	shown := 0
	for _, p := range r.People {
		if p.Access != a {
			continue
		}
		if shown++; shown > 20 {
			printf("%s... and more (--format json lists all)\n", indent)
			return
		}
		who := p.DisplayName
		if p.Email != "" {
			who += " <" + p.Email + ">"
		}
		printf("%s%s (source account %s)\n", indent, who, p.AccountID)
	}
}

// printPeople lists, per person, what was not granted to them.
func printPeople(r *importer.Report) {
	shown := 0
	for _, p := range r.People {
		if p.NotGrantedCount == 0 {
			continue
		}
		if shown++; shown > 50 {
			printf("  ... and %d more people (--format json lists all)\n", countNotGranted(r)-50)
			return
		}
		if shown == 1 {
			printf("not granted to users who may not use the destination, per person:\n")
		}
		printf("  %s <%s> (%s), %d: %s\n", p.DisplayName, p.Email, p.Access, p.NotGrantedCount, strings.Join(p.NotGranted, "; "))
	}
}

func countNotGranted(r *importer.Report) int {
	n := 0
	for _, p := range r.People {
		if p.NotGrantedCount > 0 {
			n++
		}
	}
	return n
}

// usersCSVHeader is the header of the users file that Atlassian's user
// import takes (confluence.atlassian.com/cloud/import-users-and-groups-
// 744721626.html, after Crowd's CSV import): the password column is left
// out, as Atlassian accounts set their own.
var usersCSVHeader = []string{"Username", "First Name", "Last Name", "Email Address"}

// writeUsersCSV writes the people to invite (no access, an email known)
// to path, under a temporary name first; it answers how many.
func writeUsersCSV(path string, r *importer.Report) (int, error) {
	n := 0
	err := writePrivate(path, func(f io.Writer) error { // emails are personal data
		w := csv.NewWriter(f)
		w.Write(usersCSVHeader)
		for _, p := range r.People {
			if (p.Access != importer.AccessNone && p.Access != importer.AccessInvited) || p.Email == "" {
				continue
			}
			first, last, _ := strings.Cut(strings.TrimSpace(p.DisplayName), " ")
			w.Write([]string{textCell(p.Email), textCell(first), textCell(strings.TrimSpace(last)), textCell(p.Email)})
			n++
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return 0, fmt.Errorf("--users-csv %s: %w", path, err)
	}
	return n, nil
}

// textCell keeps a value a spreadsheet would run as a formula (a name that
// starts with =, +, - or @) as text.
func textCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
		return "'" + v
	}
	return v
}
