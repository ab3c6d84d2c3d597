package inspect

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
)

// Review is what --against found, for the report.
type Review struct {
	Site        string
	Conflicts   []string
	Merges      []string
	Linked      int
	NewAccounts int64
	NewBillable int64
	MissingApps []string // installed at the source, not at the destination
	// People counts, into Confluence Cloud, the users by what the site's
	// access check said of them.
	People []Count
}

// Count is a labelled number of a review.
type Count struct {
	Label string
	N     int
}

// bar is one bar of a chart.
type bar struct {
	Label string
	Value int64
}

// WriteReport writes one self-contained HTML page: the summary, charts
// drawn as inline SVG (no scripts, no external assets), and the review of
// an import when one was made.
func (in *Inspector) WriteReport(ctx context.Context, w io.Writer, s *Summary, review *Review) error {
	perSpace, err := in.bars(ctx, `SELECT coalesce(space, '(site-wide)'), count(*) FROM events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 25`)
	if err != nil {
		return err
	}
	perKind := make([]bar, 0, len(s.ByKind))
	for _, k := range sortedKinds(s.ByKind) {
		perKind = append(perKind, bar{k, s.ByKind[k]})
	}
	scope, err := in.bars(ctx, `SELECT copied, count(*) FROM scope GROUP BY 1 ORDER BY 1 DESC`)
	if err != nil {
		return err
	}
	p := s.Personal
	people := []bar{{"users", p.Users}, {"with an email", p.WithEmail}, {"inactive or deleted", p.Inactive}, {"versions mentioning users", p.Mentioning}}
	data := map[string]any{
		"S": s, "Review": review,
		"PerSpace": chart("events per space", perSpace), "PerKind": chart("events per kind", perKind),
		"Scope":  chart("events copied (yes), not copied (no), or copied unless a condition holds", scope),
		"People": chart("personal data", people),
	}
	return reportPage.Execute(w, data)
}

func (in *Inspector) bars(ctx context.Context, q string) ([]bar, error) {
	var out []bar
	err := in.rows(ctx, q, func(r *sql.Rows) error {
		var b bar
		if err := r.Scan(&b.Label, &b.Value); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// sortedKinds orders kinds by their counts, largest first, then by name.
func sortedKinds(m map[string]int64) []string {
	out := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	return out
}

// chart draws horizontal bars as SVG.
func chart(title string, bars []bar) template.HTML {
	const width, labelW, rowH = 720, 230, 22
	var max int64 = 1
	for _, b := range bars {
		if b.Value > max {
			max = b.Value
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<figure><figcaption>%s</figcaption><svg class="chart" role="img" aria-label="%s" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		template.HTMLEscapeString(title), template.HTMLEscapeString(title), width, rowH*len(bars)+4)
	for i, b := range bars {
		y := i*rowH + 2
		w := int(float64(width-labelW-80) * float64(b.Value) / float64(max))
		if b.Value > 0 && w < 2 {
			w = 2
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text><rect x="%d" y="%d" width="%d" height="%d" data-value="%d"/><text x="%d" y="%d">%d</text>`,
			labelW-8, y+15, template.HTMLEscapeString(b.Label), labelW, y+3, w, rowH-6, b.Value, labelW+w+6, y+15, b.Value)
	}
	sb.WriteString(`</svg></figure>`)
	return template.HTML(sb.String())
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{"bytes": func(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ferry archive {{.S.ArchiveID}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: .2em .8em; text-align: left; border-bottom: 1px solid #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #333; } svg.chart rect { fill: #3b6ea5; }
figcaption { font-weight: 600; margin: .8em 0 .3em; } .warn { color: #a33; }
</style></head><body>
<h1>Archive {{.S.ArchiveID}}</h1>
<table>
<tr><th>format</th><td id="version">{{.S.Version}}</td></tr>
{{if .S.ParentID}}<tr><th>continues</th><td id="parent">{{.S.ParentID}}</td></tr>{{end}}
<tr><th>source</th><td>{{index .S.Source "kind"}} {{index .S.Source "location"}} (site {{index .S.Source "site_id"}})</td></tr>
<tr><th>written</th><td>{{.S.Created.Format "2006-01-02 15:04 MST"}}</td></tr>
<tr><th>history</th><td>{{.S.FirstEvent.Format "2006-01-02"}} to {{.S.LastEvent.Format "2006-01-02"}}</td></tr>
<tr><th>events</th><td class="n" id="events">{{.S.Events}}</td></tr>
<tr><th>copied as they are</th><td class="n" id="copied">{{.S.Copied}}</td></tr>
<tr><th>attachment content</th><td class="n" id="attachment-bytes" data-bytes="{{.S.BlobBytes}}">{{bytes .S.BlobBytes}}</td></tr>
</table>

<h2>Content</h2>
{{.PerSpace}}
{{.PerKind}}

<h2>What will and will not be copied</h2>
{{.Scope}}
<table><tr><th>events</th><th>kind</th><th>copied</th><th>why</th></tr>
{{range .S.NotCopied}}<tr><td class="n">{{.Events}}</td><td>{{.Kind}}</td><td>{{.Copy}}</td><td>{{if .Condition}}when {{.Condition}}: {{end}}{{.Reason}}</td></tr>
{{end}}</table>
{{if .S.Apps}}<p>Apps whose data is not copied (install them at the destination):</p>
<table>{{range .S.Apps}}<tr><td>{{.Key}}</td><td>{{.Name}}</td><td class="n">{{.DataRecords}} data records</td></tr>{{end}}</table>{{end}}

<h2>Personal data</h2>
{{.People}}
<table>
<tr><th>users</th><td class="n" id="users">{{.S.Personal.Users}}</td></tr>
<tr><th>with an email address</th><td class="n" id="emails">{{.S.Personal.WithEmail}}</td></tr>
<tr><th>inactive or deleted</th><td class="n">{{.S.Personal.Inactive}}</td></tr>
</table>
<p>Held in: {{range $i, $f := .S.Personal.Fields}}{{if $i}}; {{end}}{{$f}}{{end}}.</p>

<h2>Largest attachments</h2>
<table>{{range .S.Largest}}<tr><td class="n">{{.Size}}</td><td>{{.Space}}/{{.Filename}}</td><td>{{.ID}}</td></tr>{{end}}</table>
{{if .S.OverLimit}}<p class="warn" id="over-limit">{{len .S.OverLimit}} attachment(s) over Confluence Cloud's 2 GB upload limit cannot be copied to Cloud.</p>
{{else}}<p id="over-limit">No attachment is over Confluence Cloud's 2 GB upload limit.</p>{{end}}

{{with .Review}}<h2>Review of an import into {{.Site}}</h2>
<table>
<tr><th>space key conflicts</th><td class="n" id="conflicts">{{len .Conflicts}}</td></tr>
<tr><th>users linked to existing accounts by email</th><td class="n">{{.Linked}}</td></tr>
<tr><th>new accounts</th><td class="n">{{.NewAccounts}}</td></tr>
<tr><th>new accounts joining groups (bill growth)</th><td class="n" id="bill-growth">{{.NewBillable}}</td></tr>
<tr><th>apps missing at the destination</th><td class="n" id="missing-apps">{{len .MissingApps}}</td></tr>
{{range .People}}<tr><th>{{.Label}}</th><td class="n">{{.N}}</td></tr>{{end}}
</table>
{{range .MissingApps}}<p class="warn">App missing at the destination (its data is not copied; macros using it will not work): {{.}}</p>{{end}}
{{range .Conflicts}}<p>{{.}}</p>{{end}}{{range .Merges}}<p>{{.}}</p>{{end}}{{end}}
<p><small>Written by ferry inspect. This page is self-contained: no scripts, no external assets.</small></p>
</body></html>
`))
