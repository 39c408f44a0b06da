package ui

import (
	"bytes"
	"encoding/json"
	"strings"
)

// diffLine is one line of a change: kept (' '), removed ('-') or added ('+').
type diffLine struct {
	Op   string
	Text string
}

// diffContext is how many unchanged lines are kept around each change.
const diffContext = 3

// diffJSON shows what an audited change did to a resource: the line diff of its state before
// and after, as indented JSON, with unchanged stretches cut to a few lines of context.
func diffJSON(before, after json.RawMessage) []diffLine {
	return trimContext(diffLines(indentLines(before), indentLines(after)))
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

// diffLines is the longest-common-subsequence diff of two line lists. Resource states are
// small (a flag's configuration is tens to hundreds of lines), so the quadratic table is cheap.
func diffLines(a, b []string) []diffLine {
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
