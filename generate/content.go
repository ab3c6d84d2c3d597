package generate

import (
	"fmt"
	"math/rand"
	"strings"
)

// Words and titles for bodies: mostly English, with the unicode a real
// site has (accents, CJK, emoji, right-to-left).
var (
	words = strings.Fields(`the of and to in is that for it as was with be by on not this are or from at which but have an they
		you were their has would when if so no will can all about there one what up out more some time project team release plan
		meeting notes design review roadmap quarterly incident postmortem onboarding checklist decision status update risk customer
		feature service deploy database migration budget hiring goals retrospective architecture security compliance audit`)
	titleWords = strings.Fields(`Übersicht Planung 設計 議事録 Roadmap Q3 Q4 Onboarding Runbook Incident Postmortem Architecture Décisions
		Réunion Handbook FAQ Glossary Release Notes Retro Team Charter Budget Hiring Security Compliance 🚀 ✅ ملاحظات Resumen Índice`)
	firstNames = strings.Fields(`Ada Grace Alan Edsger Barbara Donald Ken Dennis Margaret Linus Guido Bjarne Frances Radia Hedy Katherine
		Søren Zoë Renée José Łukasz Björn Chloé Mónica Aiko Hiroshi Mei Wei Priya Arjun Fatima Omar`)
	lastNames = strings.Fields(`Lovelace Hopper Turing Dijkstra Liskov Knuth Thompson Ritchie Hamilton Torvalds Rossum Stroustrup Allen
		Perlman Lamarr Johnson Kierkegaard Müller O'Brien García Nowak Öberg Dubois Pérez Tanaka Sato Li Zhang Sharma Patel Khan Haddad`)
)

func pick(rng *rand.Rand, xs []string) string { return xs[rng.Intn(len(xs))] }

// sentence is n words.
func sentence(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pick(rng, words))
	}
	return b.String()
}

// bodyRefs are what a body may link to.
type bodyRefs struct {
	spaceKey    string
	pageTitles  []string // titles of earlier pages in the space
	accountIDs  func() string
	attachments []string // filenames on this page
}

// body writes a storage-format body of a few paragraphs with links to
// other pages, user mentions and embedded attachments.
func body(rng *rand.Rand, refs bodyRefs, paragraphs int) string {
	var b strings.Builder
	for i := 0; i < paragraphs; i++ {
		b.WriteString("<p>")
		b.WriteString(xmlEscape(sentence(rng, 10+rng.Intn(40))))
		switch rng.Intn(6) {
		case 0:
			if len(refs.pageTitles) > 0 {
				fmt.Fprintf(&b, ` <ac:link><ri:page ri:content-title="%s" ri:space-key="%s"/></ac:link>`,
					xmlEscape(refs.pageTitles[rng.Intn(len(refs.pageTitles))]), xmlEscape(refs.spaceKey))
			}
		case 1:
			if refs.accountIDs != nil {
				fmt.Fprintf(&b, ` <ac:link><ri:user ri:account-id="%s"/></ac:link>`, refs.accountIDs())
			}
		case 2:
			if len(refs.attachments) > 0 {
				fmt.Fprintf(&b, ` <ac:image><ri:attachment ri:filename="%s"/></ac:image>`, xmlEscape(refs.attachments[rng.Intn(len(refs.attachments))]))
			}
		}
		b.WriteString("</p>")
	}
	if rng.Intn(4) == 0 {
		b.WriteString(`<ac:structured-macro ac:name="info"><ac:rich-text-body><p>`)
		b.WriteString(xmlEscape(sentence(rng, 12)))
		b.WriteString(`</p></ac:rich-text-body></ac:structured-macro>`)
	}
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// title is a page title, unique within its space by its number.
func title(rng *rand.Rand, n int) string {
	return fmt.Sprintf("%s %s %d", pick(rng, titleWords), pick(rng, titleWords), n)
}

// attachmentBytes makes an attachment's content: a text document that
// compresses, or media that does not.
func attachmentBytes(rng *rand.Rand, size int, text bool) []byte {
	b := make([]byte, size)
	if !text {
		rng.Read(b)
		return b
	}
	i := 0
	for i < size {
		w := pick(rng, words)
		i += copy(b[i:], w)
		if i < size {
			b[i] = ' '
			i++
		}
	}
	return b
}

var mediaTypes = []struct {
	ext, media string
	text       bool
}{
	{"pdf", "application/pdf", false}, {"png", "image/png", false}, {"jpg", "image/jpeg", false},
	{"txt", "text/plain", true}, {"csv", "text/csv", true}, {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
	{"md", "text/markdown", true}, {"zip", "application/zip", false},
}
