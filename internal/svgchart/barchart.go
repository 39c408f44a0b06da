package svgchart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Bar is one bar of a group. Lo and Hi give an optional error bar, NaN when absent (both zero
// count as absent too, so a literal may leave them out); a NaN Value leaves the bar's slot
// empty.
type Bar struct {
	Label string // legend label; bars with the same label and class share one legend entry
	Value float64
	Lo    float64
	Hi    float64
	Class string // CSS class for its colour; "s0"…"s5" by position in the group when empty
}

// BarGroup is a set of bars side by side under one label.
type BarGroup struct {
	Label string
	Bars  []Bar
}

// BarChart draws groups of bars from zero, with optional error bars.
type BarChart struct {
	Title, YLabel string
	Width, Height int                  // viewBox size, 720×240 by default; the SVG scales to its container's width
	Format        func(float64) string // tick and tooltip values; Compact by default
	Groups        []BarGroup
}

const maxBarWidth = 48

// SVG renders the chart as inline SVG markup.
func (c BarChart) SVG() template.HTML {
	width, height := chartSize(c.Width, c.Height, 720, 240, minWidth, minHeight)
	format := orCompact(c.Format)
	groups := c.normalisedGroups()
	lo, hi, ok := barExtent(groups)
	if !ok {
		return noData("bar", width, height, c.Title)
	}

	var body canvas
	bottom := height - timeLabelHeight
	top := plotTop(body.header(c.YLabel, barLegend(groups), width), bottom)
	ax, labels, left := valueLayout(lo, hi, nil, nil, top, bottom, width, c.Format)
	right := width - 2*pad
	y := func(v float64) float64 { return ax.scale(v, bottom, top) }

	body.valueTicks(ax, labels, y, left, right)
	slot := (right - left) / float64(len(groups))
	most := 1
	for _, g := range groups {
		most = max(most, len(g.Bars))
	}
	barWidth := math.Min(slot*0.8/float64(most), maxBarWidth)
	body.open("g", "class", "tick x")
	for i, g := range groups {
		mid := left + (float64(i)+0.5)*slot
		body.label(g.Label, slot-4, "x", num(mid), "y", num(bottom+16), "text-anchor", "middle")
	}
	body.end("g")
	for i, g := range groups {
		mid := left + (float64(i)+0.5)*slot
		x := mid - barWidth*float64(len(g.Bars))/2
		for j, b := range g.Bars {
			drawBar(&body, g.Label, b, x+float64(j)*barWidth, barWidth, y, format)
		}
	}
	body.void("path", "class", "axis", "d", "M"+num(left)+" "+num(y(0))+"H"+num(right))
	return document("bar", width, height, false, c.Title, describeBars(groups, format), body.b.String())
}

// normalisedGroups copies the groups with a class on every bar.
func (c BarChart) normalisedGroups() []BarGroup {
	out := make([]BarGroup, len(c.Groups))
	for i, g := range c.Groups {
		g.Bars = slices.Clone(g.Bars)
		for j := range g.Bars {
			if g.Bars[j].Class == "" {
				g.Bars[j].Class = "s" + strconv.Itoa(j%6)
			}
		}
		out[i] = g
	}
	return out
}

// barExtent spans zero, the values and the error bars; ok is false when no value is finite.
func barExtent(groups []BarGroup) (lo, hi float64, ok bool) {
	for _, g := range groups {
		for _, b := range g.Bars {
			if !finite(b.Value) {
				continue
			}
			ok = true
			lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
			if hasInterval(b.Lo, b.Hi) {
				lo, hi = math.Min(lo, math.Min(b.Lo, b.Hi)), math.Max(hi, math.Max(b.Lo, b.Hi))
			}
		}
	}
	return lo, hi, ok
}

func barLegend(groups []BarGroup) []legendEntry {
	var entries []legendEntry
	for _, g := range groups {
		for _, b := range g.Bars {
			e := legendEntry{label: b.Label, class: b.Class, swatch: swatchBox}
			if b.Label != "" && !slices.Contains(entries, e) {
				entries = append(entries, e)
			}
		}
	}
	return entries
}

func drawBar(c *canvas, group string, b Bar, x, width float64, y func(float64) float64, format func(float64) string) {
	if !finite(b.Value) {
		return
	}
	tip := b.Label + ": " + formatValue(b.Value, b.Lo, b.Hi, format)
	if group != "" {
		tip = group + " · " + tip
	}
	y0, yv := y(0), y(b.Value)
	c.open("g", "class", "bar-item "+b.Class)
	c.title(tip)
	c.void("rect", "class", "bar", "x", num(x+1), "y", num(math.Min(y0, yv)),
		"width", num(math.Max(width-2, 1)), "height", num(math.Abs(y0-yv)))
	if hasInterval(b.Lo, b.Hi) {
		mid, cap := x+width/2, math.Min(width/4, 4)
		ylo, yhi := num(y(b.Lo)), num(y(b.Hi))
		c.void("path", "class", "errbar", "d", "M"+num(mid)+" "+ylo+"V"+yhi+
			"M"+num(mid-cap)+" "+ylo+"H"+num(mid+cap)+"M"+num(mid-cap)+" "+yhi+"H"+num(mid+cap))
	}
	c.end("g")
}

// describeBars lists every group's bars and values for the chart's <desc>.
func describeBars(groups []BarGroup, format func(float64) string) string {
	var parts []string
	for _, g := range groups {
		var bars []string
		for _, b := range g.Bars {
			if finite(b.Value) {
				bars = append(bars, strings.TrimSpace(b.Label+" "+formatValue(b.Value, b.Lo, b.Hi, format)))
			}
		}
		if len(bars) == 0 {
			bars = []string{"no data"}
		}
		parts = append(parts, fmt.Sprintf("%s: %s.", g.Label, strings.Join(bars, ", ")))
	}
	return strings.Join(parts, " ")
}
