package snapshot_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
)

func TestVariantsJSONKeepsOrder(t *testing.T) {
	var vs snapshot.Variants
	in := `{"zeta": 1, "alpha": {"x": [1, "a"]}, "mid": null, "b": true}`
	if err := json.Unmarshal([]byte(in), &vs); err != nil {
		t.Fatal(err)
	}
	want := snapshot.Variants{
		{Name: "zeta", Value: json.Number("1")},
		{Name: "alpha", Value: map[string]any{"x": []any{json.Number("1"), "a"}}},
		{Name: "mid", Value: nil},
		{Name: "b", Value: true},
	}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("got %#v, want %#v", vs, want)
	}
	out, err := json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"zeta":1,"alpha":{"x":[1,"a"]},"mid":null,"b":true}` {
		t.Errorf("Marshal = %s", out)
	}
	if vs.Index("mid") != 2 || vs.Index("nope") != -1 {
		t.Errorf("Index: %d %d", vs.Index("mid"), vs.Index("nope"))
	}
}

func TestWeightsJSONKeepsOrder(t *testing.T) {
	var ws snapshot.Weights
	if err := json.Unmarshal([]byte(`{"off": 90, "on": 10.5}`), &ws); err != nil {
		t.Fatal(err)
	}
	want := snapshot.Weights{{Variant: "off", Percent: 90}, {Variant: "on", Percent: 10.5}}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("got %v, want %v", ws, want)
	}
	out, _ := json.Marshal(ws)
	if string(out) != `{"off":90,"on":10.5}` {
		t.Errorf("Marshal = %s", out)
	}
}

func TestOrderedObjectErrors(t *testing.T) {
	cases := []struct {
		in, frag string
		into     any
	}{
		{`{"on": true, "on": false}`, `duplicate key "on"`, new(snapshot.Variants)},
		{`{"on": 1, "on": 2}`, `duplicate key "on"`, new(snapshot.Weights)},
		{`["on"]`, `expected an object`, new(snapshot.Variants)},
		{`{"on": "ten"}`, `weight of "on": expected a number`, new(snapshot.Weights)},
		{`{"on": tru}`, `invalid`, new(snapshot.Variants)},
	}
	for _, tc := range cases {
		err := json.Unmarshal([]byte(tc.in), tc.into)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("Unmarshal(%s into %T): err = %v, want %q", tc.in, tc.into, err, tc.frag)
		}
	}
}

// TestSnapshotJSONRoundTrip: a valid snapshot survives JSON and still validates, with variant and
// weight order kept.
func TestSnapshotJSONRoundTrip(t *testing.T) {
	s := validSnapshot()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("round-tripped snapshot: %v", err)
	}
	again, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("second encoding differs:\n%s\n%s", data, again)
	}
	f := flagOf(&back, "max-items")
	if got := []string{f.Variants[0].Name, f.Variants[1].Name, f.Variants[2].Name}; !reflect.DeepEqual(got, []string{"small", "large", "fraction"}) {
		t.Errorf("variant order %v", got)
	}
	if !strings.Contains(string(data), `"enabled":true`) || !strings.Contains(string(data), `"weights":{"on":10,"off":90}`) {
		t.Errorf("unexpected encoding: %s", data)
	}
}
