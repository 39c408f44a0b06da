package svgchart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const hostile = `<script>alert("x")</script> & 'quoted' "label"`

func hours(values ...float64) []Point {
	points := make([]Point, len(values))
	for i, v := range values {
		points[i] = Point{T: start.Add(time.Duration(i) * time.Hour), Y: v, Lo: nan, Hi: nan}
	}
	return points
}

// TestTimeChartEscapes puts markup and quotes in every piece of text: none of it may become
// markup, and each must read back as written.
func TestTimeChartEscapes(t *testing.T) {
	c := TimeChart{
		Title:      hostile,
		YLabel:     hostile,
		Series:     []Series{{Name: hostile, Class: `x" onload="alert(1)`, Points: hours(1, 2, 3)}},
		Markers:    []Marker{{T: start.Add(time.Hour), Label: hostile, Class: "a<b"}},
		Thresholds: []Threshold{{Y: 2, Label: hostile, Class: "c'd"}},
		Format:     func(v float64) string { return "<b>" + Compact(v) + "</b>" },
	}
	out := c.SVG()
	if strings.Contains(strings.ToLower(string(out)), "<script") || strings.Contains(string(out), "<b>") {
		t.Fatalf("markup from labels reached the output:\n%s", out)
	}
	root := mustParse(t, out)
	if got := root.find(func(n *node) bool { return n.name == "title" })[0].text; got != hostile {
		t.Errorf("chart title reads %q, want %q", got, hostile)
	}
	texts := root.texts()
	// The y label, the legend entry, the marker label and the threshold label (with its value).
	for _, want := range []string{hostile, hostile, hostile, hostile + " <b>2</b>"} {
		i := slices.Index(texts, want)
		if i < 0 {
			t.Fatalf("no text %q among %q", want, texts)
		}
		texts = slices.Delete(texts, i, i+1)
	}
	if got := root.byClass("series")[0].attrs["class"]; got != `series x" onload="alert(1)` {
		t.Errorf("series class reads %q", got)
	}
	tips := root.byClass("pt")
	if len(tips) != 3 || !strings.HasPrefix(tips[0].tooltip(), hostile+" · ") {
		t.Errorf("point tooltips %v do not start with the series name", tips)
	}
}

func TestTimeChartGaps(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		lines  int // segments of the line
		points int
		lone   int // points no line reaches
	}{
		{name: "one gap", values: []float64{1, 2, nan, 4, 5}, lines: 2, points: 4},
		{name: "infinities are gaps too", values: []float64{1, math.Inf(1), 3, math.Inf(-1), 5, 6}, lines: 1, points: 4, lone: 2},
		{name: "isolated values", values: []float64{1, nan, 3, nan, 5}, lines: 0, points: 3, lone: 3},
		{name: "leading and trailing gaps", values: []float64{nan, nan, 2, 3, nan}, lines: 1, points: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := mustParse(t, TimeChart{Title: "gaps", Series: []Series{{Name: "s", Points: hours(tc.values...)}}}.SVG())
			var d string
			if line := root.byClass("series")[0].byClass("line"); len(line) > 0 {
				d = line[0].attrs["d"]
			}
			if got := strings.Count(d, "M"); got != tc.lines || strings.Count(d, "L") != tc.points-tc.lone-tc.lines {
				t.Errorf("path %q, want %d segments through the %d points that have neighbours", d, tc.lines, tc.points-tc.lone)
			}
			if got := len(root.byClass("pt")); got != tc.points {
				t.Errorf("%d points, want %d", got, tc.points)
			}
			if got := len(root.byClass("pt", "lone")); got != tc.lone {
				t.Errorf("%d lone points, want %d", got, tc.lone)
			}
		})
	}
}

func TestTimeChartSinglePoint(t *testing.T) {
	c := TimeChart{Title: "one", Series: []Series{{Name: "requests", Points: []Point{{T: start, Y: 1250, Lo: 1000, Hi: 1500}}}}}
	root := mustParse(t, c.SVG())
	pts := root.byClass("pt", "lone")
	if len(pts) != 1 {
		t.Fatalf("%d lone points, want 1", len(pts))
	}
	if got, want := pts[0].tooltip(), "requests · 2025-03-04 00:00 UTC: 1.25k [1k, 1.5k]"; got != want {
		t.Errorf("tooltip %q, want %q", got, want)
	}
	if len(root.byClass("whisker")) != 1 || len(root.byClass("band")) != 1 { // the band's legend swatch
		t.Errorf("a single interval should be a whisker (and a band swatch in the legend)")
	}
	// The point sits in the middle of an hour-long axis that starts at zero.
	x := pts[0].float(t, "cx")
	axisPath := root.byClass("axis")[0].attrs["d"]
	var x0, y0, x1 float64
	if _, err := fmt.Sscanf(axisPath, "M%g %gH%g", &x0, &y0, &x1); err != nil {
		t.Fatalf("axis %q: %v", axisPath, err)
	}
	if math.Abs(x-(x0+x1)/2) > 0.1 {
		t.Errorf("point at x=%v, want the middle of %v..%v", x, x0, x1)
	}
	yTicks := root.byClass("tick", "y")[0].texts()
	if yTicks[0] != "0" || len(yTicks) < 3 {
		t.Errorf("value ticks %q, want several from 0", yTicks)
	}
	xTicks := root.byClass("tick", "x")[0].texts()
	if !slices.Contains(xTicks, "Mar 4") || len(xTicks) < 3 {
		t.Errorf("time ticks %q, want several around midnight, Mar 4", xTicks)
	}
}

func TestNoData(t *testing.T) {
	for name, c := range map[string]TimeChart{
		"no series":           {Title: "t"},
		"series without data": {Title: "t", Series: []Series{{Name: "a"}, {Name: "b", Points: []Point{}}}},
		"only missing values": {Title: "t", Series: []Series{{Name: "a", Points: hours(nan, math.Inf(1), nan)}}},
		"markers and thresholds only": {Title: "t", Markers: []Marker{{T: start, Label: "m"}},
			Thresholds: []Threshold{{Y: 1, Label: "slo"}}},
	} {
		t.Run(name, func(t *testing.T) {
			assertNoData(t, c.SVG())
		})
	}
}

func assertNoData(t *testing.T, out template.HTML) {
	t.Helper()
	root := mustParse(t, out)
	if got := root.byClass("nodata"); len(got) != 1 || got[0].text != "No data" {
		t.Errorf("no \"No data\" text in\n%s", out)
	}
	desc := root.find(func(n *node) bool { return n.name == "desc" })
	if len(desc) != 1 || desc[0].text != "No data." {
		t.Errorf("description %v, want \"No data.\"", desc)
	}
	if len(root.byClass("pt")) != 0 || len(root.byClass("line")) != 0 || len(root.byClass("bar")) != 0 {
		t.Errorf("an empty chart draws data:\n%s", out)
	}
}

func TestTimeChartFixedBounds(t *testing.T) {
	c := TimeChart{
		Title: "fixed", YMin: ptr(0), YMax: ptr(1),
		Series:     []Series{{Name: "s", Points: hours(0.5, 5, -3)}},
		Thresholds: []Threshold{{Y: 0.9, Label: "inside"}, {Y: 2, Label: "outside"}},
	}
	root := mustParse(t, c.SVG())
	if got, want := root.byClass("tick", "y")[0].texts(), []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}; !slices.Equal(got, want) {
		t.Errorf("value ticks %q, want %q", got, want)
	}
	grid := root.byClass("grid")[0].attrs["d"] // from the bottom tick (0) to the top one (1)
	var x0, bottom, x1, top float64
	if _, err := fmt.Sscanf(grid, "M%g %gH%gM", &x0, &bottom, &x1); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(grid[strings.LastIndex(grid, "M"):], "M%g %gH", &x0, &top); err != nil {
		t.Fatal(err)
	}
	pts := root.byClass("pt")
	if got := []float64{pts[0].float(t, "cy"), pts[1].float(t, "cy"), pts[2].float(t, "cy")}; !approxEqual(got, []float64{(top + bottom) / 2, top, bottom}) {
		t.Errorf("points at y %v: want 0.5 in the middle, values beyond the bounds at the edges (%v, %v)", got, top, bottom)
	}
	if !strings.Contains(pts[1].tooltip(), ": 5") {
		t.Errorf("the tooltip of a clamped point %q should give its real value", pts[1].tooltip())
	}
	if got := root.byClass("threshold"); len(got) != 1 || got[0].tooltip() != "inside: 0.9" {
		t.Errorf("thresholds drawn %v, want only the one inside the bounds", got)
	}
}

// TestMarkerLabelsStayInside puts markers at both edges and several at one instant: every
// label must fit the chart, and labels that would overlap go to separate rows.
func TestMarkerLabelsStayInside(t *testing.T) {
	const width = 400
	c := TimeChart{
		Title: "markers", Width: width,
		Series: []Series{{Name: "s", Points: hours(1, 2, 3, 4, 5, 6)}},
		Markers: []Marker{
			{T: start, Label: "first step at the left edge"},
			{T: start.Add(5 * time.Hour), Label: "rolled back at the right edge"},
			{T: start.Add(2 * time.Hour), Label: "a"},
			{T: start.Add(2 * time.Hour), Label: "b"},
			{T: start.Add(2 * time.Hour), Label: "a label far longer than the whole chart is wide, so it must be shortened"},
		},
	}
	root := mustParse(t, c.SVG())
	type box struct{ x0, x1, y float64 }
	var boxes []box
	for _, m := range root.byClass("marker") {
		text := m.find(func(n *node) bool { return n.name == "text" })[0]
		x, w := text.float(t, "x"), textWidth(text.text)
		b := box{x, x + w, text.float(t, "y")}
		if text.attrs["text-anchor"] == "end" {
			b = box{x - w, x, b.y}
		}
		if b.x0 < 0 || b.x1 > width {
			t.Errorf("label %q spans %.1f..%.1f, outside 0..%d", text.text, b.x0, b.x1, width)
		}
		boxes = append(boxes, b)
	}
	if len(boxes) != 5 {
		t.Fatalf("%d marker labels, want 5", len(boxes))
	}
	overlaps := 0
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if boxes[i].y == boxes[j].y && boxes[i].x0 < boxes[j].x1 && boxes[j].x0 < boxes[i].x1 {
				overlaps++
			}
		}
	}
	// Five labels, three rows: the long one and the left-edge one share a row at most once.
	if overlaps > 2 {
		t.Errorf("%d overlapping label pairs, want labels spread over rows", overlaps)
	}
	rows := map[float64]bool{}
	for _, b := range boxes {
		rows[b.y] = true
	}
	if len(rows) != maxMarkerRows {
		t.Errorf("labels on %d rows, want %d", len(rows), maxMarkerRows)
	}
}

// TestTimeChartSortsPoints draws a line through points given out of order in time order.
func TestTimeChartSortsPoints(t *testing.T) {
	points := hours(1, 2, 3, 4)
	points[0], points[3] = points[3], points[0]
	root := mustParse(t, TimeChart{Title: "t", Series: []Series{{Points: points}}}.SVG())
	var xs []float64
	for _, p := range root.byClass("pt") {
		xs = append(xs, p.float(t, "cx"))
	}
	if !slices.IsSorted(xs) {
		t.Errorf("points at x %v, want time order", xs)
	}
	if got := root.byClass("series")[0].attrs["class"]; got != "series s0" {
		t.Errorf("unclassed series has class %q, want the default s0", got)
	}
	if len(root.byClass("legend")) != 0 {
		t.Error("a chart without series names has a legend")
	}
}

func TestTimeChartDescription(t *testing.T) {
	root := mustParse(t, rolloutChart().SVG())
	desc := root.find(func(n *node) bool { return n.name == "desc" })[0].text
	for _, want := range []string{
		"From 2025-03-04 00:00 UTC to 2025-03-04 23:00 UTC.",
		"treatment: 23 points (1 missing), min ",
		"control: 24 points, min 0.9 %, max 1.3 %, last 1.3 %.",
		`Marker "rolled back: error rate" at 2025-03-04 23:00 UTC.`,
		`Threshold "tolerance" at 2 %.`,
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("description %q lacks %q", desc, want)
		}
	}
	if !strings.Contains(root.attrs["class"], "svgchart-time") || root.attrs["width"] != "100%" {
		t.Errorf("root %v: want a time chart that scales to its container", root.attrs)
	}
}

// TestTimeChartSizes clamps absurd viewBox sizes instead of laying out nothing.
func TestTimeChartSizes(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {-5, -5}, {1, 1}, {1 << 30, 1 << 30}} {
		c := rolloutChart()
		c.Width, c.Height = size[0], size[1]
		root := mustParse(t, c.SVG())
		var w, h float64
		if _, err := fmt.Sscanf(root.attrs["viewBox"], "0 0 %g %g", &w, &h); err != nil {
			t.Fatal(err)
		}
		if w < minWidth || h < minHeight || w > maxSide || h > maxSide {
			t.Errorf("size %v gave a viewBox of %v×%v", size, w, h)
		}
		if len(root.byClass("pt")) != 47 {
			t.Errorf("size %v: %d points drawn, want 47", size, len(root.byClass("pt")))
		}
	}
}

// TestCrowdedChartKeepsPlot fills the smallest chart with legend rows and marker rows: the plot
// keeps its least height, the right way up.
func TestCrowdedChartKeepsPlot(t *testing.T) {
	c := TimeChart{Title: "crowded", YLabel: "a long unit label", Width: 1, Height: 1}
	for i := range 12 {
		c.Series = append(c.Series, Series{Name: fmt.Sprintf("series number %d", i), Points: hours(1, 2, float64(i))})
		c.Markers = append(c.Markers, Marker{T: start.Add(time.Hour), Label: fmt.Sprintf("marker %d", i)})
	}
	root := mustParse(t, c.SVG())
	var x0, bottom, x1 float64
	if _, err := fmt.Sscanf(root.byClass("axis")[0].attrs["d"], "M%g %gH%g", &x0, &bottom, &x1); err != nil {
		t.Fatal(err)
	}
	grid := root.byClass("grid")[0].attrs["d"]
	var top float64
	if _, err := fmt.Sscanf(grid[strings.LastIndex(grid, "M"):], "M%g %gH", &x0, &top); err != nil {
		t.Fatal(err)
	}
	if bottom-top < minPlotHeight-1 {
		t.Errorf("plot from y=%v to %v, want at least %d tall", top, bottom, minPlotHeight)
	}
}

// TestPointLiteralHasNoInterval: a Point that leaves Lo and Hi out (both zero) has no band,
// and zero does not stretch an axis of negative values.
func TestPointLiteralHasNoInterval(t *testing.T) {
	c := TimeChart{Title: "t", Series: []Series{{Name: "delta", Points: []Point{
		{T: start, Y: -40}, {T: start.Add(time.Hour), Y: -12},
	}}}}
	root := mustParse(t, c.SVG())
	if len(root.byClass("band")) != 0 || len(root.byClass("whisker")) != 0 {
		t.Error("a point without an interval got a band")
	}
	if tip := root.byClass("pt")[0].tooltip(); strings.Contains(tip, "[") {
		t.Errorf("tooltip %q shows an interval", tip)
	}
	if got := root.byClass("tick", "y")[0].texts(); slices.Contains(got, "0") {
		t.Errorf("value ticks %q reach zero for values from -40 to -12", got)
	}
}
