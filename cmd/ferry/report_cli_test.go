package main

import (
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestReportRendersInChromium opens the HTML report in headless Chromium
// (Debian's chromium package; .ci/run installs it): the numbers on the
// rendered page match the JSON summary, and the charts draw.
func TestReportRendersInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		// A newcomer's `make test` goes on without it; CI installs it and
		// sets FERRY_REQUIRE_CHROMIUM, so there the test always runs.
		if os.Getenv("FERRY_REQUIRE_CHROMIUM") != "" {
			t.Fatal("FERRY_REQUIRE_CHROMIUM is set and Debian's chromium package is not installed (apt-get install chromium)")
		}
		t.Skip("chromium is not installed: the HTML report is not rendered (apt-get install chromium runs this test; .ci/run installs it)")
	}
	dir := t.TempDir()
	site, archive, empty := filepath.Join(dir, "site.db"), filepath.Join(dir, "site.ferry"), filepath.Join(dir, "empty.db")
	ferry(t, nil, "generate", "--out", site, "--users", "40", "--spaces", "3", "--pages", "120", "--seed", "8")
	ferry(t, nil, "export", "--from", site, "--out", archive)
	ferry(t, nil, "generate", "--out", empty, "--users", "1", "--spaces", "1", "--pages", "1", "--seed", "99")
	report := filepath.Join(dir, "report.html")
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--report", report, "--against", empty); code != 0 {
		t.Fatal(stderr)
	}
	out, _, _ := ferry(t, nil, "inspect", archive, "--format", "json")
	var s struct {
		Events    int64 `json:"events"`
		Copied    int64 `json:"events_copied"`
		BlobBytes int64 `json:"attachment_bytes"`
		Personal  struct {
			Users     int64 `json:"users"`
			WithEmail int64 `json:"users_with_email"`
		} `json:"personal_data"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	// --no-sandbox: Chromium's sandbox refuses to run as root, as CI does.
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	dom, err := exec.Command(browser, append(flags, "--dump-dom", "file://"+report)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for id, want := range map[string]int64{"events": s.Events, "copied": s.Copied, "users": s.Personal.Users, "emails": s.Personal.WithEmail} {
		m := regexp.MustCompile(`id="` + id + `">(\d+)<`).FindSubmatch(dom)
		if m == nil {
			t.Errorf("the rendered page has no %s", id)
			continue
		}
		if got, _ := strconv.ParseInt(string(m[1]), 10, 64); got != want {
			t.Errorf("%s: page says %d, the JSON summary %d", id, got, want)
		}
	}
	if m := regexp.MustCompile(`data-bytes="(\d+)"`).FindSubmatch(dom); m == nil || string(m[1]) != strconv.FormatInt(s.BlobBytes, 10) {
		t.Errorf("attachment bytes on the page: %q, JSON %d", m, s.BlobBytes)
	}
	if n := len(regexp.MustCompile(`<rect `).FindAll(dom, -1)); n < 10 {
		t.Errorf("the page has %d chart bars", n)
	}
	if !regexp.MustCompile(`id="bill-growth">\d+<`).Match(dom) {
		t.Error("the --against review is missing")
	}
	if regexp.MustCompile(`(?i)<script|src="http|href="http`).Match(dom) {
		t.Error("the report is not self-contained")
	}
	// The charts draw: the bars' colour fills a good part of the screenshot.
	shot := filepath.Join(dir, "report.png")
	if err := exec.Command(browser, append(flags, "--window-size=1000,1800", "--screenshot="+shot, "file://"+report)...).Run(); err != nil {
		t.Fatalf("chromium --screenshot: %v", err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bars := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 80 && g>>8 > 90 && g>>8 < 130 && bl>>8 > 140 && bl>>8 < 190 { // #3b6ea5
				bars++
			}
		}
	}
	if bars < 20000 {
		t.Errorf("the screenshot shows %d pixels of chart bars; the charts did not draw", bars)
	}
}
