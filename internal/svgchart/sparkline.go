package svgchart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Sparkline renders values as a small line without axes, for tables and summaries: NaN values
// are gaps, and the last value is marked with a dot whose tooltip gives it. The SVG keeps its
// size, 120×32 by default.
func Sparkline(title string, values []float64, width, height int) template.HTML {
	w, h := chartSize(width, height, 120, 32, 16, 8)
	const inset = 3 // keeps the line and the dot inside the box
	var n int
	lo, hi, last, lastAt := math.Inf(1), math.Inf(-1), math.NaN(), -1
	for i, v := range values {
		if finite(v) {
			n++
			lo, hi, last, lastAt = math.Min(lo, v), math.Max(hi, v), v, i
		}
	}
	var body canvas
	if n == 0 {
		body.void("path", "class", "nodata-line", "d", "M"+num(inset)+" "+num(h/2)+"H"+num(w-inset))
		return document("spark", w, h, true, title, "No data.", body.b.String())
	}
	var ax axis
	ax.lo, ax.hi = widened(lo, hi, false, false)
	x := func(i int) float64 {
		if len(values) == 1 {
			return w / 2
		}
		return inset + float64(i)/float64(len(values)-1)*(w-2*inset)
	}
	y := func(v float64) float64 { return ax.scale(v, h-inset, inset) }

	var line strings.Builder
	for i, v := range values {
		if !finite(v) {
			continue
		}
		step, first := "L", i == 0 || !finite(values[i-1])
		if first {
			step = "M"
		}
		line.WriteString(step + num(x(i)) + " " + num(y(v)))
		if first && (i == len(values)-1 || !finite(values[i+1])) {
			line.WriteString("h0") // a value alone between gaps: a dot, with round line caps
		}
	}
	body.void("path", "class", "line", "d", line.String())
	body.open("circle", "class", "pt last", "cx", num(x(lastAt)), "cy", num(y(last)), "r", "2")
	body.title("last: " + Compact(last))
	body.end("circle")

	desc := count(n, "value")
	if missing := len(values) - n; missing > 0 {
		desc += fmt.Sprintf(" (%d missing)", missing)
	}
	desc += fmt.Sprintf(": min %s, max %s, last %s.", Compact(lo), Compact(hi), Compact(last))
	return document("spark", w, h, true, title, desc, body.b.String())
}
