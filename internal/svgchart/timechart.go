package svgchart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Point is one value of a time series. Lo and Hi bound an optional interval around Y (a
// confidence interval, a min–max range), NaN when absent; both zero count as absent too, so
// Point{T: t, Y: v} has none. A NaN Y is missing data: the line breaks there.
type Point struct {
	T         time.Time
	Y, Lo, Hi float64
}

// Series is one line of a TimeChart.
type Series struct {
	Name   string // legend label; unnamed series stay out of the legend
	Class  string // CSS class for its colour, e.g. "treatment", "control"; "s0"…"s5" by position when empty
	Points []Point
	Dashed bool
}

// Marker is a vertical line with a label at an instant: a step change, a decision, a flag change.
type Marker struct {
	T     time.Time
	Label string
	Class string
}

// Threshold is a horizontal line with a label at a value: a tolerance, an SLO.
type Threshold struct {
	Y     float64
	Label string
	Class string
}

// TimeChart plots series over time, with interval bands under the lines, markers and
// thresholds. The time axis spans every point and marker, in UTC.
type TimeChart struct {
	Title         string // the chart's accessible name: its <title>
	YLabel        string // unit or axis label, drawn above the value axis
	Width, Height int    // viewBox size, 720×240 by default; the SVG scales to its container's width
	// YMin and YMax fix the value axis bounds. By default the axis spans the values, bands and
	// thresholds, rounded outward to ticks, from zero when no value is negative.
	YMin, YMax *float64
	Format     func(float64) string // tick and tooltip values; Compact by default
	Series     []Series
	Markers    []Marker
	Thresholds []Threshold
}

const (
	timeLabelHeight = 24 // room under the plot for the time labels
	minTimeSpan     = 10 * time.Second
	singleTimeSpan  = time.Hour // the span around a chart whose data is all at one instant
	maxMarkerRows   = 3
	pointRadius     = "3"
)

// timeExtent is what a TimeChart's data covers.
type timeExtent struct {
	lo, hi float64   // values, bands and thresholds
	t0, t1 time.Time // points and markers
}

// SVG renders the chart as inline SVG markup.
func (c TimeChart) SVG() template.HTML {
	width, height := chartSize(c.Width, c.Height, 720, 240, minWidth, minHeight)
	format := orCompact(c.Format)
	series := c.normalisedSeries()
	ext, ok := c.extent(series)
	if !ok {
		return noData("time", width, height, c.Title)
	}
	desc := c.describe(series, ext, format)
	ext.t0, ext.t1 = widenTimes(ext.t0, ext.t1)

	var body canvas
	labelTop := body.header(c.YLabel, legendOf(series), width)
	// Marker labels get rows of their own above the plot; how many depends on where the
	// markers fall, which depends on the plot, so lay out again until the rows suffice.
	rows := 0
	if slices.ContainsFunc(c.Markers, func(m Marker) bool { return m.Label != "" }) {
		rows = 1
	}
	var p timePlot
	var placed []placedMarker
	for {
		p = c.plot(ext, width, height, labelTop, rows, format)
		var need int
		placed, need = p.placeMarkers(c.Markers)
		if need <= rows {
			break
		}
		rows = need
	}

	body.valueTicks(p.ax, p.labels, p.y, p.left, p.right)
	p.timeTicks(&body, timeTicks(ext.t0, ext.t1, p.right-p.left), width)
	body.void("path", "class", "axis", "d", "M"+num(p.left)+" "+num(p.bottom)+"H"+num(p.right))
	for _, th := range c.Thresholds {
		p.threshold(&body, th)
	}
	if slices.ContainsFunc(series, func(s Series) bool { return slices.ContainsFunc(s.Points, hasBand) }) {
		body.open("g", "class", "bands")
		for _, s := range series {
			p.bands(&body, s)
		}
		body.end("g")
	}
	for _, s := range series {
		p.series(&body, s)
	}
	for _, m := range placed {
		p.marker(&body, m)
	}
	return document("time", width, height, false, c.Title, desc, body.b.String())
}

// normalisedSeries copies the series with their points in time order and a class each.
func (c TimeChart) normalisedSeries() []Series {
	out := make([]Series, len(c.Series))
	for i, s := range c.Series {
		s.Points = slices.Clone(s.Points)
		slices.SortStableFunc(s.Points, func(a, b Point) int { return a.T.Compare(b.T) })
		if s.Class == "" {
			s.Class = "s" + strconv.Itoa(i%6)
		}
		out[i] = s
	}
	return out
}

// extent finds what the data covers; ok is false when there is no finite value to show.
func (c TimeChart) extent(series []Series) (ext timeExtent, ok bool) {
	ext.lo, ext.hi = math.Inf(1), math.Inf(-1)
	first := true
	cover := func(t time.Time) {
		if first || t.Before(ext.t0) {
			ext.t0 = t
		}
		if first || t.After(ext.t1) {
			ext.t1 = t
		}
		first = false
	}
	include := func(v float64) {
		if finite(v) {
			ext.lo, ext.hi = math.Min(ext.lo, v), math.Max(ext.hi, v)
		}
	}
	for _, s := range series {
		for _, p := range s.Points {
			cover(p.T)
			values := []float64{p.Y}
			if hasBand(p) {
				values = append(values, p.Lo, p.Hi)
			}
			for _, v := range values {
				ok = ok || finite(v)
				include(v)
			}
		}
	}
	if !ok {
		return ext, false
	}
	for _, m := range c.Markers {
		cover(m.T)
	}
	for _, th := range c.Thresholds {
		include(th.Y)
	}
	if ext.lo >= 0 {
		ext.lo = 0
	}
	return ext, true
}

// widenTimes gives a time axis room to divide: an hour around a single instant, at least ten
// seconds otherwise.
func widenTimes(t0, t1 time.Time) (time.Time, time.Time) {
	if t0.Equal(t1) {
		return t0.Add(-singleTimeSpan / 2), t1.Add(singleTimeSpan / 2)
	}
	if d := t1.Sub(t0); d < minTimeSpan {
		grow := (minTimeSpan - d) / 2
		return t0.Add(-grow), t1.Add(minTimeSpan - d - grow)
	}
	return t0, t1
}

func legendOf(series []Series) []legendEntry {
	var entries []legendEntry
	for _, s := range series {
		if s.Name == "" {
			continue
		}
		e := legendEntry{label: s.Name, class: s.Class, swatch: swatchLine}
		if s.Dashed {
			e.class += " dashed"
		}
		if slices.ContainsFunc(s.Points, hasBand) {
			e.swatch = swatchLineBand
		}
		entries = append(entries, e)
	}
	return entries
}

func hasBand(p Point) bool  { return hasInterval(p.Lo, p.Hi) }
func hasValue(p Point) bool { return finite(p.Y) }

// describe summarises the chart for its <desc>: the time span, each series' count, range and
// last value, the markers and thresholds.
func (c TimeChart) describe(series []Series, ext timeExtent, format func(float64) string) string {
	var b strings.Builder
	if ext.t0.Equal(ext.t1) {
		fmt.Fprintf(&b, "At %s.", formatTime(ext.t0))
	} else {
		fmt.Fprintf(&b, "From %s to %s.", formatTime(ext.t0), formatTime(ext.t1))
	}
	for i, s := range series {
		name := s.Name
		if name == "" {
			name = "Series " + strconv.Itoa(i+1)
		}
		var n, missing int
		lo, hi, last := math.Inf(1), math.Inf(-1), math.NaN()
		for _, p := range s.Points {
			if !hasValue(p) {
				missing++
				continue
			}
			n++
			lo, hi, last = math.Min(lo, p.Y), math.Max(hi, p.Y), p.Y
		}
		fmt.Fprintf(&b, " %s: ", name)
		if n == 0 {
			b.WriteString("no data.")
			continue
		}
		b.WriteString(count(n, "point"))
		if missing > 0 {
			fmt.Fprintf(&b, " (%d missing)", missing)
		}
		fmt.Fprintf(&b, ", min %s, max %s, last %s.", format(lo), format(hi), format(last))
	}
	for _, m := range c.Markers {
		fmt.Fprintf(&b, " Marker \"%s\" at %s.", m.Label, formatTime(m.T))
	}
	for _, th := range c.Thresholds {
		fmt.Fprintf(&b, " Threshold \"%s\" at %s.", th.Label, format(th.Y))
	}
	return b.String()
}

// timePlot maps data onto the plot area and draws in it.
type timePlot struct {
	labelTop                 float64 // where the marker label rows start, above the plot
	left, right, top, bottom float64
	ax                       axis
	labels                   []string // of the value axis ticks
	s0, s1                   float64  // the time axis, in seconds
	format                   func(float64) string
}

// plot lays out the chart below labelTop, with rows of marker labels above the plot.
func (c TimeChart) plot(ext timeExtent, width, height, labelTop float64, rows int, format func(float64) string) timePlot {
	p := timePlot{
		labelTop: labelTop, bottom: height - timeLabelHeight,
		right: width - 2*pad, s0: seconds(ext.t0), s1: seconds(ext.t1), format: format,
	}
	p.top = plotTop(labelTop+float64(rows*rowHeight), p.bottom)
	p.ax, p.labels, p.left = valueLayout(ext.lo, ext.hi, c.YMin, c.YMax, p.top, p.bottom, width, c.Format)
	return p
}

func (p timePlot) x(t time.Time) float64 {
	f := (seconds(t) - p.s0) / (p.s1 - p.s0)
	return p.left + f*(p.right-p.left)
}

func (p timePlot) y(v float64) float64 { return p.ax.scale(v, p.bottom, p.top) }

func (p timePlot) timeTicks(c *canvas, ticks []timeTick, width float64) {
	var grid strings.Builder
	for _, t := range ticks {
		grid.WriteString("M" + num(p.x(t.t)) + " " + num(p.top) + "V" + num(p.bottom))
	}
	c.void("path", "class", "grid", "d", grid.String())
	c.open("g", "class", "tick x")
	for _, t := range ticks {
		x := centredInside(p.x(t.t), textWidth(t.label), 2, width-2)
		c.elem("text", t.label, "x", num(x), "y", num(p.bottom+16), "text-anchor", "middle")
	}
	c.end("g")
}

func (p timePlot) threshold(c *canvas, th Threshold) {
	if !finite(th.Y) || th.Y < p.ax.lo || th.Y > p.ax.hi {
		return
	}
	value := p.format(th.Y)
	text, tooltip := value, value
	if th.Label != "" {
		text, tooltip = th.Label+" "+value, th.Label+": "+value
	}
	y := p.y(th.Y)
	labelY := y - 4
	if labelY-fontSize < p.top { // no room above the line: write below it
		labelY = y + fontSize + 2
	}
	c.open("g", "class", "threshold "+th.Class)
	c.title(tooltip)
	c.void("path", "class", "line", "d", "M"+num(p.left)+" "+num(y)+"H"+num(p.right))
	c.label(text, p.right-p.left, "x", num(p.right-4), "y", num(labelY), "text-anchor", "end")
	c.end("g")
}

// bands draws a series' intervals as translucent areas, one per run of points that have an
// interval; a run of one point becomes a whisker.
func (p timePlot) bands(c *canvas, s Series) {
	var area, whiskers strings.Builder
	for _, run := range runs(s.Points, hasBand) {
		if len(run) == 1 {
			x := num(p.x(run[0].T))
			whiskers.WriteString("M" + x + " " + num(p.y(run[0].Lo)) + "V" + num(p.y(run[0].Hi)))
			continue
		}
		for i, pt := range run {
			area.WriteString(pathStep(i) + num(p.x(pt.T)) + " " + num(p.y(pt.Hi)))
		}
		for i := len(run) - 1; i >= 0; i-- {
			area.WriteString("L" + num(p.x(run[i].T)) + " " + num(p.y(run[i].Lo)))
		}
		area.WriteString("Z")
	}
	if area.Len() > 0 {
		c.void("path", "class", "band "+s.Class, "d", area.String())
	}
	if whiskers.Len() > 0 {
		c.void("path", "class", "whisker "+s.Class, "d", whiskers.String())
	}
}

// series draws a line through each run of consecutive values, so missing data leaves a gap,
// and a point with a tooltip at every value. A value alone between gaps is marked "lone" for
// the stylesheet to show, since no line reaches it.
func (p timePlot) series(c *canvas, s Series) {
	class := "series " + s.Class
	if s.Dashed {
		class += " dashed"
	}
	c.open("g", "class", class)
	var line strings.Builder
	valueRuns := runs(s.Points, hasValue)
	for _, run := range valueRuns {
		if len(run) == 1 {
			continue // no line reaches it: it is drawn as a lone point
		}
		for i, pt := range run {
			line.WriteString(pathStep(i) + num(p.x(pt.T)) + " " + num(p.y(pt.Y)))
		}
	}
	if line.Len() > 0 {
		c.void("path", "class", "line", "d", line.String())
	}
	for _, run := range valueRuns {
		for _, pt := range run {
			class := "pt"
			if len(run) == 1 {
				class = "pt lone"
			}
			tip := formatTime(pt.T) + ": " + formatValue(pt.Y, pt.Lo, pt.Hi, p.format)
			if s.Name != "" {
				tip = s.Name + " · " + tip
			}
			c.open("circle", "class", class, "cx", num(p.x(pt.T)), "cy", num(p.y(pt.Y)), "r", pointRadius)
			c.title(tip)
			c.end("circle")
		}
	}
	c.end("g")
}

// runs splits points into the maximal runs of consecutive points that satisfy keep.
func runs(points []Point, keep func(Point) bool) [][]Point {
	var out [][]Point
	start := -1
	for i, pt := range points {
		switch {
		case keep(pt) && start < 0:
			start = i
		case !keep(pt) && start >= 0:
			out = append(out, points[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, points[start:])
	}
	return out
}

// pathStep is the path command that reaches the i-th point of a run: a move to the first, a
// line to the others.
func pathStep(i int) string {
	if i == 0 {
		return "M"
	}
	return "L"
}

type placedMarker struct {
	Marker
	x, labelX float64
	anchor    string // of the label: "start" right of the line, "end" left of it
	row       int
}

// placeMarkers puts each marker's label right of its line, or left of it near the right edge,
// in the first row where it overlaps no other label (up to maxMarkerRows, then where the
// least overlap is); it returns the markers in time order and the number of rows used.
func (p timePlot) placeMarkers(markers []Marker) ([]placedMarker, int) {
	sorted := slices.Clone(markers)
	slices.SortStableFunc(sorted, func(a, b Marker) int { return a.T.Compare(b.T) })
	placed := make([]placedMarker, len(sorted))
	var rowEnds []float64
	for i, m := range sorted {
		pm := placedMarker{Marker: m, x: p.x(m.T)}
		if m.Label != "" {
			w := textWidth(truncate(m.Label, p.right-p.left))
			pm.labelX, pm.anchor = anchorInside(pm.x, w, p.left, p.right)
			start := pm.labelX
			if pm.anchor == "end" {
				start -= w
			}
			pm.row = slices.IndexFunc(rowEnds, func(end float64) bool { return end+pad <= start })
			switch {
			case pm.row >= 0:
			case len(rowEnds) < maxMarkerRows:
				pm.row = len(rowEnds)
				rowEnds = append(rowEnds, 0)
			default:
				pm.row = slices.Index(rowEnds, slices.Min(rowEnds))
			}
			rowEnds[pm.row] = start + w
		}
		placed[i] = pm
	}
	return placed, len(rowEnds)
}

// marker draws a vertical line from the marker's label down through the plot.
func (p timePlot) marker(c *canvas, m placedMarker) {
	tip := formatTime(m.T)
	if m.Label != "" {
		tip = m.Label + " · " + tip
	}
	c.open("g", "class", "marker "+m.Class)
	c.title(tip)
	lineTop := p.top
	if m.Label != "" {
		baseline := p.labelTop + fontSize - 4 + float64(m.row*rowHeight)
		c.label(m.Label, p.right-p.left, "x", num(m.labelX), "y", num(baseline), "text-anchor", m.anchor)
		lineTop = baseline + 3
	}
	c.void("path", "class", "line", "d", "M"+num(m.x)+" "+num(lineTop)+"V"+num(p.bottom))
	c.end("g")
}
