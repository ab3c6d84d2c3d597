package sandbox

import (
	"html"
	"net/http"
	"regexp"
	"strings"
)

// Converting wiki markup to storage format (v1 POST
// /contentbody/convert/storage, representation "wiki"). The sandbox
// converts a documented subset, and refuses, with 400, a body with
// anything else in braces (a macro: {code}, {panel}, …), as a stand-in for
// markup Cloud's converter cannot take:
//
//	h1. to h6.      headings
//	* and #         bulleted and numbered lists (one level)
//	*bold* _italic_ {{monospace}} [text|url] [url]
//	blank lines     paragraphs

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("POST /wiki/rest/api/contentbody/convert/{to}", s.convert)
	})
}

var (
	wikiMacro   = regexp.MustCompile(`\{[a-zA-Z][^}]*\}`)
	wikiHeading = regexp.MustCompile(`^h([1-6])\.\s+(.*)$`)
	wikiInline  = []struct {
		re   *regexp.Regexp
		repl string
	}{
		{regexp.MustCompile(`\{\{(.+?)\}\}`), "<code>$1</code>"},
		{regexp.MustCompile(`(^|\W)\*(\S(?:.*?\S)?)\*(\W|$)`), "$1<strong>$2</strong>$3"},
		{regexp.MustCompile(`(^|\W)_(\S(?:.*?\S)?)_(\W|$)`), "$1<em>$2</em>$3"},
		{regexp.MustCompile(`\[([^|\]]+)\|([^\]]+)\]`), `<a href="$2">$1</a>`},
		{regexp.MustCompile(`\[([a-z]+://[^\]]+)\]`), `<a href="$1">$1</a>`},
	}
)

func (s *Server) convert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value          string `json:"value"`
		Representation string `json:"representation"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if r.PathValue("to") != "storage" || req.Representation != "wiki" {
		writeV1Error(w, http.StatusBadRequest, "the sandbox converts wiki markup to storage format only")
		return
	}
	out, ok := wikiToStorage(req.Value)
	if !ok {
		writeV1Error(w, http.StatusBadRequest, "Unable to convert the wiki markup: a macro the converter does not know")
		return
	}
	writeJSON(w, map[string]any{"value": out, "representation": "storage", "_expandable": map[string]any{"content": ""}})
}

// wikiToStorage converts the subset; false if the markup has more.
func wikiToStorage(wiki string) (string, bool) {
	var b strings.Builder
	var para []string
	list := ""
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, " ") + "</p>")
			para = nil
		}
		if list != "" {
			b.WriteString("</" + list + ">")
			list = ""
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(wiki, "\r\n", "\n"), "\n") {
		if wikiMacro.MatchString(strings.ReplaceAll(line, "{{", "")) {
			return "", false
		}
		line = strings.TrimSpace(line)
		inline := func(s string) string {
			s = html.EscapeString(s)
			for _, x := range wikiInline {
				s = x.re.ReplaceAllString(s, x.repl)
			}
			return s
		}
		switch m := wikiHeading.FindStringSubmatch(line); {
		case line == "":
			flush()
		case m != nil:
			flush()
			b.WriteString("<h" + m[1] + ">" + inline(m[2]) + "</h" + m[1] + ">")
		case strings.HasPrefix(line, "* ") || strings.HasPrefix(line, "# "):
			kind := map[byte]string{'*': "ul", '#': "ol"}[line[0]]
			if len(para) > 0 || list != kind {
				flush()
				b.WriteString("<" + kind + ">")
				list = kind
			}
			b.WriteString("<li>" + inline(line[2:]) + "</li>")
		default:
			if list != "" {
				flush()
			}
			para = append(para, inline(line))
		}
	}
	flush()
	return b.String(), true
}
