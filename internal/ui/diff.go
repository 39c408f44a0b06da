package ui

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// diffLine is one line of a change: kept (' '), removed ('-') or added ('+').
type diffLine struct {
	Op   string
	Text string
}

// diffContext is how many unchanged lines are kept around each change.
const diffContext = 3

// maxDiffShown bounds the lines a diff shows: replacing a long list of keys changes every line.
const maxDiffShown = 500

// diffJSON shows what an audited change did to a resource: the line diff of its state before
// and after, as indented JSON, with unchanged stretches cut to a few lines of context, and
// cut short after maxDiffShown lines.
func diffJSON(before, after json.RawMessage) []diffLine {
	lines := trimContext(diffLines(indentLines(before), indentLines(after)))
	if len(lines) > maxDiffShown {
		more := len(lines) - maxDiffShown
		lines = append(lines[:maxDiffShown], diffLine{"…", strconv.Itoa(more) + " more lines not shown"})
	}
	return lines
}

func indentLines(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return strings.Split(string(raw), "\n")
	}
	return strings.Split(buf.String(), "\n")
}

// maxDiffCells bounds the longest-common-subsequence table (4 MiB): a segment's
// include list can run to hundreds of thousands of lines.
const maxDiffCells = 1 << 20

// diffLines is the line diff of two line lists: the lines both start and end with are kept,
// and the ones between are matched by their longest common subsequence, or, when that table
// would be too large, shown all removed and then all added.
func diffLines(a, b []string) []diffLine {
	var head, tail int
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	out := make([]diffLine, 0, len(a)+len(b)-head-tail)
	for _, l := range a[:head] {
		out = append(out, diffLine{" ", l})
	}
	midA, midB := a[head:len(a)-tail], b[head:len(b)-tail]
	if len(midA)*len(midB) <= maxDiffCells {
		out = append(out, lcsDiff(midA, midB)...)
	} else {
		for _, l := range midA {
			out = append(out, diffLine{"-", l})
		}
		for _, l := range midB {
			out = append(out, diffLine{"+", l})
		}
	}
	for _, l := range a[len(a)-tail:] {
		out = append(out, diffLine{" ", l})
	}
	return out
}

// lcsDiff is the longest-common-subsequence diff of two line lists, with its quadratic table.
func lcsDiff(a, b []string) []diffLine {
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{" ", a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{"-", a[i]})
			i++
		default:
			out = append(out, diffLine{"+", b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, diffLine{"-", a[i]})
	}
	for ; j < m; j++ {
		out = append(out, diffLine{"+", b[j]})
	}
	return out
}

// trimContext keeps the changed lines and diffContext unchanged lines around each, marking
// each cut with a "…" line.
func trimContext(lines []diffLine) []diffLine {
	keep := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == " " {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(lines)-1, i+diffContext); k++ {
			keep[k] = true
		}
	}
	var out []diffLine
	cut := false
	for i, l := range lines {
		if keep[i] {
			out = append(out, l)
			cut = false
		} else if !cut {
			out = append(out, diffLine{"…", ""})
			cut = true
		}
	}
	return out
}
