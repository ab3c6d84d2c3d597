package embedded

import (
	"math/rand"
	"testing"
	"time"
)

// parseTime's fixed-width path reads what time.Parse reads, and refuses
// (to time.Parse) what it refuses.
func TestParseTimeAgreesWithTimeParse(t *testing.T) {
	cases := []string{
		"2019-01-07T14:09:33.448840Z", "2024-02-29T23:59:59.999999Z", "2023-02-29T00:00:00.000000Z",
		"2023-04-31T00:00:00.000000Z", "2023-13-01T00:00:00.000000Z", "2023-00-10T00:00:00.000000Z",
		"2023-01-00T00:00:00.000000Z", "2023-01-01T24:00:00.000000Z", "2023-01-01T00:60:00.000000Z",
		"2023-01-01T00:00:60.000000Z", "2023-01-01T00:00:00.00000aZ", "2023-01-01 00:00:00.000000Z",
		"2023-01-01T00:00:00.000000", "0000-01-01T00:00:00.000000Z", "2023-01-01T00:00:00Z", "", "garbage",
		"+023-01-01T00:00:00.000000Z", "2023-1-01T00:00:00.0000000Z",
	}
	r := rand.New(rand.NewSource(1))
	for range 2000 {
		at := time.Unix(r.Int63n(4e9), r.Int63n(1e9)).UTC().Truncate(time.Microsecond)
		cases = append(cases, fmtTime(at))
	}
	for _, s := range cases {
		want, _ := time.Parse(timeLayout, s)
		if got := parseTime(s); !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseTime(%q) = %v, time.Parse gives %v", s, got, want)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	f.Add("2019-01-07T14:09:33.448840Z")
	f.Add("2024-02-29T23:59:59.999999Z")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := time.Parse(timeLayout, s)
		if got := parseTime(s); !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, time.Parse gives %v", s, got, want)
		}
	})
}
