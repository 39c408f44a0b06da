package svgchart

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestBarChart(t *testing.T) {
	root := mustParse(t, conversionBars().SVG())
	items := root.byClass("bar-item")
	if len(items) != 6 {
		t.Fatalf("%d bars, want 6", len(items))
	}
	if got, want := items[1].tooltip(), "checkout · treatment: 3.6 % [3.2 %, 4 %]"; got != want {
		t.Errorf("tooltip %q, want %q", got, want)
	}
	if got := len(root.byClass("errbar")); got != 5 {
		t.Errorf("%d error bars, want 5 (one bar has no interval)", got)
	}
	var legend []string
	for _, e := range root.byClass("legend-item") {
		legend = append(legend, e.attrs["class"]+"="+e.texts()[0])
	}
	if want := []string{"legend-item control=control", "legend-item treatment=treatment"}; !slices.Equal(legend, want) {
		t.Errorf("legend %q, want one entry per label and class: %q", legend, want)
	}
	if got, want := root.byClass("tick", "x")[0].texts(), []string{"checkout", "signup", "retention (day 7)"}; !slices.Equal(got, want) {
		t.Errorf("group labels %q, want %q", got, want)
	}
	desc := root.find(func(n *node) bool { return n.name == "desc" })[0].text
	if want := "signup: control 12 % [11 %, 13 %], treatment 11.8 %."; !strings.Contains(desc, want) {
		t.Errorf("description %q lacks %q", desc, want)
	}
}

// TestBarChartFromZero draws positive bars up from the zero line and negative ones down, and
// leaves a NaN value's slot empty.
func TestBarChartFromZero(t *testing.T) {
	c := BarChart{Title: "deltas", Groups: []BarGroup{
		{Label: "a", Bars: []Bar{{Value: 3, Lo: nan, Hi: nan}, {Value: -2, Lo: -3, Hi: -1}, {Value: nan, Lo: nan, Hi: nan}}},
	}}
	root := mustParse(t, c.SVG())
	var zero float64
	axisPath := root.byClass("axis")[0].attrs["d"]
	if _, err := fmt.Sscanf(axisPath[strings.Index(axisPath, " ")+1:], "%g", &zero); err != nil {
		t.Fatalf("zero line %q: %v", axisPath, err)
	}
	rects := root.byClass("bar")
	if len(rects) != 2 {
		t.Fatalf("%d bars, want 2", len(rects))
	}
	up, down := rects[0], rects[1]
	if y, h := up.float(t, "y"), up.float(t, "height"); math.Abs(y+h-zero) > 0.1 || h <= 0 {
		t.Errorf("positive bar spans %v..%v, want it to end on the zero line %v", y, y+h, zero)
	}
	if y, h := down.float(t, "y"), down.float(t, "height"); math.Abs(y-zero) > 0.1 || h <= 0 {
		t.Errorf("negative bar spans %v..%v, want it to start on the zero line %v", y, y+h, zero)
	}
	if up.float(t, "height") <= down.float(t, "height") {
		t.Error("bar heights are not proportional to the values")
	}
	if got := root.byClass("bar-item"); got[0].attrs["class"] != "bar-item s0" || got[1].attrs["class"] != "bar-item s1" {
		t.Errorf("unclassed bars get classes %q and %q, want s0 and s1", got[0].attrs["class"], got[1].attrs["class"])
	}
	if len(root.byClass("legend")) != 0 {
		t.Error("bars without labels get a legend")
	}
}

func TestBarChartEscapesAndShortens(t *testing.T) {
	long := strings.Repeat("a very long group label ", 10) + hostile
	c := BarChart{Title: hostile, YLabel: hostile, Groups: []BarGroup{
		{Label: long, Bars: []Bar{{Label: hostile, Class: hostile, Value: 1, Lo: nan, Hi: nan}}},
		{Label: hostile, Bars: []Bar{{Label: hostile, Class: hostile, Value: 2, Lo: nan, Hi: nan}}},
	}}
	out := c.SVG()
	if strings.Contains(strings.ToLower(string(out)), "<script") {
		t.Fatalf("markup from labels reached the output:\n%s", out)
	}
	root := mustParse(t, out)
	labels := root.byClass("tick", "x")[0].find(func(n *node) bool { return n.name == "text" })
	if !strings.HasSuffix(labels[0].text, "…") || textWidth(labels[0].text) > 720/2 || labels[0].tooltip() != long {
		t.Errorf("long group label reads %q with tooltip %q, want it shortened with the full text as tooltip", labels[0].text, labels[0].tooltip())
	}
	if labels[1].text != hostile {
		t.Errorf("group label reads %q, want %q", labels[1].text, hostile)
	}
	if got := root.byClass("bar-item")[0].tooltip(); !strings.HasSuffix(got, hostile+": 1") {
		t.Errorf("tooltip %q", got)
	}
}

func TestBarChartNoData(t *testing.T) {
	for name, c := range map[string]BarChart{
		"no groups":        {Title: "t"},
		"groups, no bars":  {Title: "t", Groups: []BarGroup{{Label: "a"}}},
		"only NaN values":  {Title: "t", Groups: []BarGroup{{Label: "a", Bars: []Bar{{Value: nan, Lo: 1, Hi: 2}}}}},
		"infinite values ": {Title: "t", Groups: []BarGroup{{Label: "a", Bars: []Bar{{Value: math.Inf(1), Lo: nan, Hi: nan}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			assertNoData(t, c.SVG())
		})
	}
}

func TestSparkline(t *testing.T) {
	out := Sparkline(hostile, []float64{3, 5, nan, 4, 8, math.Inf(1)}, 100, 20)
	root := mustParse(t, out)
	if root.attrs["width"] != "100" || root.attrs["height"] != "20" || root.attrs["viewBox"] != "0 0 100 20" {
		t.Errorf("root %v, want a fixed 100×20 box", root.attrs)
	}
	if got := root.find(func(n *node) bool { return n.name == "title" })[0].text; got != hostile {
		t.Errorf("title %q, want %q", got, hostile)
	}
	if d := root.byClass("line")[0].attrs["d"]; strings.Count(d, "M") != 2 || strings.Count(d, "L") != 2 {
		t.Errorf("path %q, want two segments of two points", d)
	}
	last := root.byClass("pt", "last")
	if len(last) != 1 || last[0].tooltip() != "last: 8" {
		t.Fatalf("last point %v, want one with the tooltip \"last: 8\"", last)
	}
	// The last value is the maximum: drawn at the top, inside the box.
	if y := last[0].float(t, "cy"); y < 2 || y > 4 {
		t.Errorf("maximum drawn at y=%v, want the top of the box", y)
	}
	desc := root.find(func(n *node) bool { return n.name == "desc" })[0].text
	if want := "4 values (2 missing): min 3, max 8, last 8."; desc != want {
		t.Errorf("description %q, want %q", desc, want)
	}
}

func TestSparklineEdgeCases(t *testing.T) {
	for name, values := range map[string][]float64{
		"one value":  {7},
		"flat":       {2, 2, 2},
		"all zero":   {0, 0},
		"huge range": {-math.MaxFloat64, math.MaxFloat64},
	} {
		t.Run(name, func(t *testing.T) {
			root := mustParse(t, Sparkline("s", values, 0, 0))
			if root.attrs["viewBox"] != "0 0 120 32" {
				t.Errorf("viewBox %q, want the default 120×32", root.attrs["viewBox"])
			}
			if len(root.byClass("pt", "last")) != 1 {
				t.Error("no last point")
			}
		})
	}
	for name, values := range map[string][]float64{"nil": nil, "only NaN": {nan, nan}} {
		t.Run(name, func(t *testing.T) {
			root := mustParse(t, Sparkline("s", values, 0, 0))
			if len(root.byClass("nodata-line")) != 1 || len(root.byClass("line")) != 0 {
				t.Error("an empty sparkline should draw only the no-data line")
			}
			if desc := root.find(func(n *node) bool { return n.name == "desc" })[0].text; desc != "No data." {
				t.Errorf("description %q", desc)
			}
		})
	}
}

func TestSparklineLoneValues(t *testing.T) {
	root := mustParse(t, Sparkline("s", []float64{1, nan, 2, nan, 3}, 0, 0))
	if d := root.byClass("line")[0].attrs["d"]; strings.Count(d, "h0") != 3 || strings.Contains(d, "L") {
		t.Errorf("path %q, want three dots and no line across the gaps", d)
	}
}

func TestBarLiteralHasNoErrorBar(t *testing.T) {
	root := mustParse(t, BarChart{Title: "t", Groups: []BarGroup{{Label: "a", Bars: []Bar{{Label: "x", Value: 3}}}}}.SVG())
	if len(root.byClass("errbar")) != 0 || root.byClass("bar-item")[0].tooltip() != "a · x: 3" {
		t.Errorf("a bar without Lo and Hi got an error bar or interval:\n%v", root.byClass("bar-item")[0].tooltip())
	}
}
