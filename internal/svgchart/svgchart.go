// Package svgchart renders small SVG charts for the server-rendered dashboard: time series with
// interval bands, markers and thresholds (TimeChart), grouped bars with error bars (BarChart) and
// sparklines.
//
// The output is inline SVG markup meant for html/template pages under a strict
// Content-Security-Policy: no scripts and no style attributes. Every element is styled through
// CSS classes, and colours come from the page's stylesheet (the dashboard's,
// internal/ui/static/app.css, styles every class). Each data point carries a <title> child, the browser's native tooltip, so values are
// readable without JavaScript, and each chart is an accessible image: role="img", labelled by
// its <title> and described by a <desc> that summarises the data.
//
// Rendering is deterministic (the same input gives the same bytes), every piece of text is
// escaped, and no NaN or infinity ever reaches a coordinate: non-finite values are gaps.
// Layout assumes the 12px font the root element sets.
package svgchart

import (
	"hash/fnv"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	fontSize  = 12
	charWidth = 6.6 // average advance of a 12px sans-serif character, for layout estimates
	rowHeight = 16  // height of a legend row and of a stacked marker label
	pad       = 8   // space between the viewBox edge and anything drawn

	// Chart viewBoxes are clamped to these sizes: a chart smaller than the minimum has no room
	// for its axes, and the maximum bounds the work and every coordinate.
	minWidth, minHeight = 200, 120
	maxSide             = 4000
	minPlotHeight       = 48 // the least height of a plot area, whatever the header takes
)

// canvas accumulates SVG markup. Attribute values and text are escaped on the way in, so
// callers never handle raw markup; attributes with an empty value are left out.
type canvas struct {
	b strings.Builder
}

func (c *canvas) tag(name string, attrs []string, selfClose bool) {
	c.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		c.b.WriteString(" " + attrs[i] + `="` + escape(attrs[i+1]) + `"`)
	}
	switch {
	case selfClose:
		c.b.WriteString("/>\n")
	case name == "g" || name == "svg":
		c.b.WriteString(">\n")
	default:
		c.b.WriteString(">")
	}
}

// open starts an element that will get children; attrs are name, value pairs.
func (c *canvas) open(name string, attrs ...string) { c.tag(name, attrs, false) }

// void writes an element without children.
func (c *canvas) void(name string, attrs ...string) { c.tag(name, attrs, true) }

// end closes an element. No newline follows a <title>: whitespace after it would become part
// of a surrounding <text>.
func (c *canvas) end(name string) {
	c.b.WriteString("</" + name + ">")
	if name != "title" {
		c.b.WriteString("\n")
	}
}

// text writes escaped character data.
func (c *canvas) text(s string) { c.b.WriteString(escape(s)) }

// elem writes an element whose only child is text.
func (c *canvas) elem(name, content string, attrs ...string) {
	c.open(name, attrs...)
	c.text(content)
	c.end(name)
}

// title writes a <title> child: the native tooltip of its parent.
func (c *canvas) title(s string) { c.elem("title", s) }

// label writes a <text> element, shortened with an ellipsis to fit maxWidth; a shortened
// label keeps its full text as a tooltip.
func (c *canvas) label(s string, maxWidth float64, attrs ...string) {
	short := truncate(s, maxWidth)
	c.open("text", attrs...)
	c.text(short)
	if short != s {
		c.title(s)
	}
	c.end("text")
}

// escape makes s safe as XML character data and attribute value, in XML and HTML alike: the
// five special characters become references, line breaks become spaces, and characters XML
// forbids (controls, invalid UTF-8, U+FFFE, U+FFFF) become U+FFFD.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '\t', '\n', '\r':
			b.WriteByte(' ')
		default:
			if !isXMLChar(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// num formats a coordinate with one decimal. Coordinates are clamped to ±maxSide² so a wild
// value never yields an absurd number, and a non-finite one (which layout should never
// produce) becomes 0 rather than invalid markup.
func num(v float64) string {
	const limit = maxSide * maxSide
	switch {
	case math.IsNaN(v):
		v = 0
	case v > limit:
		v = limit
	case v < -limit:
		v = -limit
	}
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// hasInterval tells whether lo..hi is an interval to draw: both bounds finite, and not both
// zero, which is what a Point or Bar literal that leaves them out holds.
func hasInterval(lo, hi float64) bool { return finite(lo) && finite(hi) && (lo != 0 || hi != 0) }

// textWidth estimates the rendered width of s in the chart font.
func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charWidth }

// truncate shortens s with an ellipsis so that it fits width.
func truncate(s string, width float64) string {
	fit := int(width / charWidth)
	if utf8.RuneCountInString(s) <= fit {
		return s
	}
	if fit < 1 {
		return ""
	}
	return string([]rune(s)[:fit-1]) + "…"
}

// count writes n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// chartSize applies the defaults and clamps the viewBox to sizes a chart can be laid out in.
func chartSize(w, h, defW, defH, minW, minH int) (float64, float64) {
	if w <= 0 {
		w = defW
	}
	if h <= 0 {
		h = defH
	}
	return float64(min(max(w, minW), maxSide)), float64(min(max(h, minH), maxSide))
}

// document wraps a chart body in the root element. Element ids derive from a hash of the
// content, so output stays deterministic and different charts on one page get different ids.
// Charts scale to their container's width; fixedSize keeps the viewBox size instead.
func document(kind string, width, height float64, fixedSize bool, title, desc, body string) template.HTML {
	h := fnv.New64a()
	for _, part := range []string{kind, title, desc, body} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	id := "svgchart-" + strconv.FormatUint(h.Sum64(), 16)
	w, hgt := "100%", ""
	if fixedSize {
		w, hgt = num(width), num(height)
	}
	var c canvas
	c.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "svgchart svgchart-"+kind,
		"viewBox", "0 0 "+num(width)+" "+num(height), "width", w, "height", hgt,
		"font-size", strconv.Itoa(fontSize), "role", "img",
		"aria-labelledby", id+"-title", "aria-describedby", id+"-desc")
	c.elem("title", title, "id", id+"-title")
	c.b.WriteString("\n")
	c.elem("desc", desc, "id", id+"-desc")
	c.b.WriteString(body)
	c.end("svg")
	return template.HTML(c.b.String())
}

// noData renders an empty chart: the plot frame and an explicit "No data".
func noData(kind string, width, height float64, title string) template.HTML {
	var c canvas
	c.void("rect", "class", "nodata-frame", "x", num(pad), "y", num(pad),
		"width", num(width-2*pad), "height", num(height-2*pad))
	c.elem("text", "No data", "class", "nodata", "x", num(width/2), "y", num(height/2),
		"text-anchor", "middle", "dy", ".32em")
	return document(kind, width, height, false, title, "No data.", c.b.String())
}

// swatch is how a legend entry pictures its item.
type swatch int

const (
	swatchLine swatch = iota
	swatchLineBand
	swatchBox
)

type legendEntry struct {
	label, class string
	swatch       swatch
}

// header draws the value axis label and the legend across the top of the chart and returns
// where the plot may start. Legend entries follow the label on its row, or start the next row
// when little room is left beside it, and wrap.
func (c *canvas) header(yLabel string, entries []legendEntry, width float64) (plotTop float64) {
	if yLabel == "" && len(entries) == 0 {
		return pad
	}
	x, baseline := float64(pad), float64(pad+fontSize)
	if yLabel != "" {
		c.label(yLabel, width/2, "class", "ylabel", "x", num(x), "y", num(baseline))
		x += textWidth(truncate(yLabel, width/2)) + 2*pad
		if len(entries) > 0 && width-pad-x < width/3 {
			x, baseline = pad, baseline+rowHeight
		}
	}
	if len(entries) > 0 {
		const swatchWidth = 20 // the swatch and the space after it
		left := x
		c.open("g", "class", "legend")
		for _, e := range entries {
			w := swatchWidth + math.Min(textWidth(e.label), width-2*pad-swatchWidth) + 2*pad
			if x > left && x+w > width-pad {
				x, baseline = left, baseline+rowHeight
			}
			c.legendEntry(e, x, baseline, width-pad-x-swatchWidth)
			x += w
		}
		c.end("g")
	}
	return baseline + 10
}

func (c *canvas) legendEntry(e legendEntry, x, baseline, maxLabel float64) {
	mid := baseline - fontSize/3
	c.open("g", "class", "legend-item "+e.class)
	switch e.swatch {
	case swatchBox:
		c.void("rect", "class", "bar", "x", num(x+3), "y", num(mid-5), "width", "10", "height", "10")
	case swatchLineBand:
		c.void("rect", "class", "band", "x", num(x), "y", num(mid-5), "width", "16", "height", "10")
		fallthrough
	default:
		c.void("path", "class", "line", "d", "M"+num(x)+" "+num(mid)+"h16")
	}
	c.label(e.label, maxLabel, "x", num(x+20), "y", num(baseline))
	c.end("g")
}

// valueTicks draws horizontal gridlines and the labels of a value axis.
func (c *canvas) valueTicks(ax axis, labels []string, y func(float64) float64, x0, x1 float64) {
	var grid strings.Builder
	for _, v := range ax.ticks {
		grid.WriteString("M" + num(x0) + " " + num(y(v)) + "H" + num(x1))
	}
	c.void("path", "class", "grid", "d", grid.String())
	c.open("g", "class", "tick y")
	for i, v := range ax.ticks {
		c.label(labels[i], x0-pad, "x", num(x0-6), "y", num(y(v)), "text-anchor", "end", "dy", ".32em")
	}
	c.end("g")
}

// plotTop keeps a plot at least minPlotHeight tall, whatever the header above it takes; in a
// chart too small for both they overlap rather than the plot vanishing.
func plotTop(top, bottom float64) float64 { return math.Min(top, bottom-minPlotHeight) }

// valueLayout fits a value axis between top and bottom: the axis, its tick labels, and the
// plot's left edge, leaving room for the labels (at most a third of the chart).
func valueLayout(lo, hi float64, fixedLo, fixedHi *float64, top, bottom, width float64, format func(float64) string) (axis, []string, float64) {
	ax := valueAxis(lo, hi, fixedLo, fixedHi, int((bottom-top)/32))
	labels := tickLabels(ax, format)
	left := float64(pad) + 16
	for _, l := range labels {
		left = math.Max(left, textWidth(l)+pad+6)
	}
	return ax, labels, math.Min(left, width/3)
}

// anchorInside places a label of the given width next to x, on its right when it fits between
// lo and hi, otherwise on its left, otherwise flush with hi; it returns the label's x and
// text-anchor.
func anchorInside(x, width, lo, hi float64) (float64, string) {
	switch {
	case x+4+width <= hi:
		return x + 4, "start"
	case x-4-width >= lo:
		return x - 4, "end"
	default:
		return hi, "end"
	}
}

// centredInside centres a label of the given width on x, shifted to stay within lo..hi.
func centredInside(x, width, lo, hi float64) float64 {
	return math.Max(lo+width/2, math.Min(x, hi-width/2))
}
