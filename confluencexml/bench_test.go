package confluencexml

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/internal/rss"

	"github.com/muktihari/xmltokenizer"
	"github.com/orisano/gosax"
)

// BenchmarkConvert writes a synthetic entities.xml of FERRY_BENCH_XML_MB
// megabytes (default 500) shaped like a Server site export (users, spaces,
// pages with history and bodies, comments, labels), converts it into an
// embedded site, and reports MB/s and the process's peak RSS, which must
// stay under 300 MB. Run it alone (make bench does), so that no earlier
// benchmark set the peak.
func BenchmarkConvert(b *testing.B) {
	mb := 500
	if s := os.Getenv("FERRY_BENCH_XML_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "entities.xml")
	size := writeSyntheticExport(b, path, int64(mb)<<20)
	// As the ferry command sets it (cmd/ferry/main.go).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(160 << 20))
	b.ResetTimer()
	var elapsed time.Duration
	var index, build, scan float64
	for i := 0; i < b.N; i++ {
		// The bar (issue 18): encoding/xml's bare token scan of the same
		// file, in the same run: before the conversion and after, so that
		// the machine's drift weighs on both alike.
		scan += mbPerSecond(b, path, float64(size)/(1<<20), rawScan) / 2
		site, err := embedded.Create(filepath.Join(dir, fmt.Sprintf("s%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rep, err := Load(ctx, path, site, dir)
		elapsed += time.Since(start)
		site.Close()
		os.Remove(filepath.Join(dir, fmt.Sprintf("s%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if rep.Created["page"] == 0 {
			b.Fatalf("nothing converted: %+v", rep.Created)
		}
		index, build = index+rep.Seconds["index"], build+rep.Seconds["build"]
		scan += mbPerSecond(b, path, float64(size)/(1<<20), rawScan) / 2
	}
	b.ReportMetric(float64(size)/(1<<20)/(index/float64(b.N)), "index-MB/s")
	b.ReportMetric(float64(size)/(1<<20)/(build/float64(b.N)), "build-MB/s")
	b.ReportMetric(float64(size)/(1<<20), "MB")
	b.ReportMetric(float64(size)/(1<<20)/(elapsed.Seconds()/float64(b.N)), "MB/s")
	b.ReportMetric(scan/float64(b.N), "scan-MB/s")
	b.ReportMetric(float64(size)/(1<<20)/(elapsed.Seconds()/float64(b.N))/(scan/float64(b.N)), "vs-scan")
	b.ReportMetric(float64(rss.Peak())/(1<<20), "peak-MiB")
	b.ReportMetric(0, "ns/op")
}

// writeSyntheticExport streams an entities.xml of about size bytes.
func writeSyntheticExport(b *testing.B, path string, size int64) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewSource(1))
	words := strings.Fields("the quarterly plan covers release dates owners risks budget design review notes decision action items follow up customer feedback")
	text := func(n int) string {
		var s strings.Builder
		for s.Len() < n {
			s.WriteString(words[rng.Intn(len(words))])
			s.WriteByte(' ')
		}
		return s.String()
	}
	fmt.Fprintln(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<hibernate-generic>")
	const users, spaces = 2000, 50
	for u := 0; u < users; u++ {
		fmt.Fprintf(w, `<object class="ConfluenceUserImpl" package="com.atlassian.confluence.user"><id name="key"><![CDATA[key%d]]></id>
<property name="name"><![CDATA[user%d]]></property><property name="lowerName"><![CDATA[user%d]]></property><property name="email"><![CDATA[user%d@example.com]]></property></object>
`, u, u, u, u)
	}
	for s := 0; s < spaces; s++ {
		fmt.Fprintf(w, `<object class="Space" package="com.atlassian.confluence.spaces"><id name="id">%d</id><property name="key"><![CDATA[SP%d]]></property><property name="name"><![CDATA[Space %d]]></property><property name="creationDate">2020-01-01 00:00:00.000</property></object>
`, s+1, s, s)
		for k, typ := range []string{"VIEWSPACE", "EDITSPACE", "COMMENT"} {
			fmt.Fprintf(w, `<object class="SpacePermission" package="com.atlassian.confluence.security"><id name="id">%d</id><property name="type">%s</property><property name="group"><![CDATA[confluence-users]]></property><property name="space" class="Space" package="com.atlassian.confluence.spaces"><id name="id">%d</id></property></object>
`, 1_000_000+s*10+k, typ, s+1)
		}
	}
	id := 10_000_000
	var written int64
	for page := 0; ; page++ {
		if page%200 == 0 {
			w.Flush()
			st, _ := f.Stat()
			if written = st.Size(); written >= size {
				break
			}
		}
		space := 1 + rng.Intn(spaces)
		cur := id
		id++
		parent := ""
		if page > 0 && rng.Intn(4) > 0 {
			parent = fmt.Sprintf(`<property name="parent" class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id></property>`, cur-1-rng.Intn(min(page, 50))*8)
		}
		versions := 1 + rng.Intn(5)
		title := text(30)
		for v := 1; v <= versions; v++ {
			vid := cur
			orig := ""
			if v < versions {
				vid, orig = id, fmt.Sprintf(`<property name="originalVersion" class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id></property>`, cur)
				id++
			}
			fmt.Fprintf(w, `<object class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id><property name="title"><![CDATA[%s]]></property><property name="version">%d</property>
<property name="space" class="Space" package="com.atlassian.confluence.spaces"><id name="id">%d</id></property>%s%s
<property name="creator" class="ConfluenceUserImpl" package="com.atlassian.confluence.user"><id name="key">key%d</id></property>
<property name="lastModifier" class="ConfluenceUserImpl" package="com.atlassian.confluence.user"><id name="key">key%d</id></property>
<property name="creationDate">2021-01-01 10:00:00.000</property><property name="lastModificationDate">2021-02-0%d 10:00:00.000</property><property name="contentStatus">current</property></object>
<object class="BodyContent" package="com.atlassian.confluence.core"><id name="id">%d</id><property name="body"><![CDATA[<p>%s</p>]]></property>
<property name="content" class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id></property><property name="bodyType">2</property></object>
`, vid, title, v, space, parent, orig, rng.Intn(users), rng.Intn(users), v, id, text(800+rng.Intn(3000)), vid)
			id++
		}
		if rng.Intn(3) == 0 {
			fmt.Fprintf(w, `<object class="Comment" package="com.atlassian.confluence.pages"><id name="id">%d</id><property name="version">1</property>
<property name="containerContent" class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id></property><property name="creationDate">2021-03-01 10:00:00.000</property></object>
<object class="BodyContent" package="com.atlassian.confluence.core"><id name="id">%d</id><property name="body"><![CDATA[<p>%s</p>]]></property>
<property name="content" class="Comment" package="com.atlassian.confluence.pages"><id name="id">%d</id></property><property name="bodyType">2</property></object>
`, id, cur, id+1, text(200), id)
			id += 2
		}
		if rng.Intn(2) == 0 {
			fmt.Fprintf(w, `<object class="Label" package="com.atlassian.confluence.labels"><id name="id">%d</id><property name="name">%s</property><property name="namespace">global</property></object>
<object class="Labelling" package="com.atlassian.confluence.labels"><id name="id">%d</id><property name="label" class="Label" package="com.atlassian.confluence.labels"><id name="id">%d</id></property><property name="content" class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id></property></object>
`, id, words[rng.Intn(len(words))], id+1, id, cur)
			id += 2
		}
	}
	fmt.Fprintln(w, "</hibernate-generic>")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	return st.Size()
}

// BenchmarkParse measures, on a synthetic entities.xml of 64 MB, the
// parse alone against issue 18's baseline, encoding/xml's bare RawToken
// loop over the same file with nothing done per token, in the same run;
// and the cleaner (clean.go) alone against reading the file. The ratios
// are the figures: the goal for the whole conversion is 0.5 of the scan.
func BenchmarkParse(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "entities.xml")
	size := float64(writeSyntheticExport(b, path, 64<<20)) / (1 << 20)
	timed := func(run func(io.Reader) error) float64 { return mbPerSecond(b, path, size, run) }
	var scan, parse, read, clean float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		scan += timed(rawScan)
		parse += timed(func(r io.Reader) error { return Parse(r, func(*Object) error { return nil }) })
		read += timed(func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
		clean += timed(func(r io.Reader) error { _, err := io.Copy(io.Discard, newCleaner(r)); return err })
	}
	n := float64(b.N)
	b.ReportMetric(scan/n, "scan-MB/s")
	b.ReportMetric(parse/n, "parse-MB/s")
	b.ReportMetric(parse/scan, "parse-vs-scan")
	b.ReportMetric(clean/n, "clean-MB/s")
	b.ReportMetric(clean/read, "clean-vs-read")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTokenizers measures, on the same synthetic entities.xml of 64
// MB, faster XML tokenizers against encoding/xml's bare RawToken loop
// (issue 18: "if encoding/xml itself is the bottleneck, measure a faster
// tokenizer, and choose one by measurement"). gosax was chosen; what it
// does not check, ferry's decoder does (tokens.go).
func BenchmarkTokenizers(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "entities.xml")
	size := float64(writeSyntheticExport(b, path, 64<<20)) / (1 << 20)
	timed := func(run func(io.Reader) error) float64 { return mbPerSecond(b, path, size, run) }
	var std, sax, tok float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		std += timed(rawScan)
		sax += timed(func(r io.Reader) error {
			rd := gosax.NewReader(r)
			for {
				e, err := rd.Event()
				if err != nil || e.Type() == gosax.EventEOF {
					return err
				}
			}
		})
		tok += timed(func(r io.Reader) error {
			t := xmltokenizer.New(r)
			for {
				if _, err := t.Token(); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
			}
		})
	}
	n := float64(b.N)
	b.ReportMetric(std/n, "encoding/xml-MB/s")
	b.ReportMetric(sax/std, "gosax-vs-encoding/xml")
	b.ReportMetric(tok/std, "xmltokenizer-vs-encoding/xml")
	b.ReportMetric(0, "ns/op")
}

// rawScan is issue 18's baseline: encoding/xml's RawToken loop, nothing
// done per token.
func rawScan(r io.Reader) error {
	d := xml.NewDecoder(bufio.NewReader(r))
	for {
		if _, err := d.RawToken(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// mbPerSecond times run over the file at path, of size MB.
func mbPerSecond(b *testing.B, path string, size float64, run func(io.Reader) error) float64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if err := run(f); err != nil {
		b.Fatal(err)
	}
	return size / time.Since(start).Seconds()
}
