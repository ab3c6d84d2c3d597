package model

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite spec/EVENTS.md")

func TestEventsDocIsCurrent(t *testing.T) {
	const path = "../spec/EVENTS.md"
	doc := EventsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != doc {
		t.Fatal("spec/EVENTS.md is out of date: go test ./model -run TestEventsDoc -update")
	}
}

func TestEveryEventTypeHasAScopeRuleAndDecodes(t *testing.T) {
	for _, e := range Catalogue {
		if r := RuleFor(e.Type); r.Reason == "not known to this version of ferry" {
			t.Errorf("%s has no scope rule", e.Type)
		}
		if _, err := Decode(e.Type, []byte(`{}`)); err != nil {
			t.Errorf("%s: %v", e.Type, err)
		}
	}
	if r := RuleFor(AttachmentVersionAdded); r.Copy != Conditional {
		t.Errorf("attachment versions: %+v, want the 2 GB condition", r)
	}
}

// The positions ColumnValues writes to name the columns they mean.
func TestColumnPositions(t *testing.T) {
	for i, name := range map[int]string{title: "title", status: "status", subtype: "subtype", size: "bytes",
		mentions: "mentions", principalType: "principal_type", principalID: "principal_id", app: "app"} {
		if Columns[i].Name != name {
			t.Errorf("Columns[%d] is %q, ColumnValues writes %q there", i, Columns[i].Name, name)
		}
	}
	if len(Columns) != 8 {
		t.Errorf("%d columns, ColumnValues fills 8", len(Columns))
	}
}
