package ui

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestDiffLinesKeepsWhatBothEndsShare(t *testing.T) {
	a := numbered("k", 200000)
	b := append([]string(nil), a...)
	b[100000] = "changed"
	got := diffLines(a, b)
	if len(got) != len(a)+1 {
		t.Fatalf("%d lines, want %d", len(got), len(a)+1)
	}
	if want := []diffLine{{" ", "k99999"}, {"-", "k100000"}, {"+", "changed"}, {" ", "k100001"}}; !reflect.DeepEqual(got[99999:100003], want) {
		t.Errorf("around the change: %v, want %v", got[99999:100003], want)
	}
}

func TestDiffLinesReplacesWhatIsTooLargeToMatch(t *testing.T) {
	a, b := numbered("a", 2000), numbered("b", 2000) // 4 million cells, beyond maxDiffCells
	got := diffLines(append([]string{"same"}, a...), append([]string{"same"}, b...))
	if len(got) != 4001 || got[0] != (diffLine{" ", "same"}) || got[1] != (diffLine{"-", "a0"}) || got[2001] != (diffLine{"+", "b0"}) {
		t.Errorf("got %d lines starting %v, want the common line, every removal, then every addition", len(got), got[:3])
	}
	// Below the bound, lines are matched: only the differing ones change.
	got = diffLines([]string{"x", "a", "y", "b"}, []string{"x", "c", "y", "d"})
	want := []diffLine{{" ", "x"}, {"-", "a"}, {"+", "c"}, {" ", "y"}, {"-", "b"}, {"+", "d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDiffJSONIsCutShort(t *testing.T) {
	before, _ := json.Marshal(map[string]any{"include": numbered("old-", 10)})
	after, _ := json.Marshal(map[string]any{"include": numbered("new-", 1000)})
	got := diffJSON(before, after)
	// 4 lines of context, 10 removals and 1000 additions: 1014 lines, of which 500 are shown.
	if len(got) != maxDiffShown+1 || got[maxDiffShown] != (diffLine{"…", fmt.Sprint(1014-maxDiffShown) + " more lines not shown"}) {
		t.Errorf("%d lines ending %v", len(got), got[len(got)-1])
	}
}
