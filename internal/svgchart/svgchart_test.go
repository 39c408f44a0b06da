package svgchart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// node is a parsed SVG element, enough to assert on structure.
type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     string // character data directly inside the element
}

// parseSVG parses chart output as XML and checks what every chart promises: one <svg> root
// that is an accessible image labelled and described by its own <title> and <desc>, no
// style attribute and no script, and only finite numbers in coordinates.
func parseSVG(out template.HTML) (*node, error) {
	dec := xml.NewDecoder(strings.NewReader(string(out)))
	var root *node
	var stack []*node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			} else if strings.TrimSpace(string(tok)) != "" {
				return nil, fmt.Errorf("text outside the root: %q", tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		return nil, errors.New("no <svg> root")
	}
	if root.attrs["role"] != "img" {
		return nil, fmt.Errorf("root role %q, want img", root.attrs["role"])
	}
	for attr, child := range map[string]string{"aria-labelledby": "title", "aria-describedby": "desc"} {
		id := root.attrs[attr]
		target := root.find(func(n *node) bool { return n.attrs["id"] == id })
		if id == "" || len(target) != 1 || target[0].name != child {
			return nil, fmt.Errorf("%s=%q does not name the chart's one <%s>", attr, id, child)
		}
	}
	for _, n := range root.find(func(*node) bool { return true }) {
		if n.name == "script" || n.name == "foreignObject" {
			return nil, fmt.Errorf("<%s> element", n.name)
		}
		for name, v := range n.attrs {
			if name == "style" || strings.HasPrefix(name, "on") {
				return nil, fmt.Errorf("<%s %s=%q>", n.name, name, v)
			}
			switch name {
			case "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "d", "viewBox", "dy":
				if l := strings.ToLower(v); strings.Contains(l, "nan") || strings.Contains(l, "inf") {
					return nil, fmt.Errorf("<%s %s=%q>: not a finite number", n.name, name, v)
				}
			}
		}
	}
	return root, nil
}

func mustParse(t testing.TB, out template.HTML) *node {
	t.Helper()
	root, err := parseSVG(out)
	if err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	return root
}

// find returns n and its descendants that satisfy match, in document order.
func (n *node) find(match func(*node) bool) []*node {
	var out []*node
	if match(n) {
		out = append(out, n)
	}
	for _, c := range n.children {
		out = append(out, c.find(match)...)
	}
	return out
}

// byClass returns the elements whose class list holds every one of classes.
func (n *node) byClass(classes ...string) []*node {
	return n.find(func(n *node) bool {
		have := strings.Fields(n.attrs["class"])
		for _, c := range classes {
			if !slices.Contains(have, c) {
				return false
			}
		}
		return true
	})
}

// tooltip is the text of n's <title> child.
func (n *node) tooltip() string {
	for _, c := range n.children {
		if c.name == "title" {
			return c.text
		}
	}
	return ""
}

func (n *node) float(t testing.TB, attr string) float64 {
	t.Helper()
	var v float64
	if _, err := fmt.Sscan(n.attrs[attr], &v); err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.name, attr, n.attrs[attr], err)
	}
	return v
}

func (n *node) texts() []string {
	var out []string
	for _, t := range n.find(func(n *node) bool { return n.name == "text" }) {
		out = append(out, t.text)
	}
	return out
}

var (
	nan   = math.NaN()
	start = time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
)

func ptr(v float64) *float64 { return &v }

// rolloutChart is a guarded rollout: error rates of treatment and control with confidence
// bands, a missing hour, step markers and the tolerance.
func rolloutChart() TimeChart {
	var treatment, control []Point
	for h := range 24 {
		t := start.Add(time.Duration(h) * time.Hour)
		c := 0.011 + 0.002*math.Sin(float64(h)/3)
		tr := c + 0.0005*float64(h)/8
		if h == 9 {
			tr = nan
		}
		w := 0.006 / math.Sqrt(float64(h+1))
		treatment = append(treatment, Point{T: t, Y: tr, Lo: tr - w, Hi: tr + w})
		control = append(control, Point{T: t, Y: c, Lo: nan, Hi: nan})
	}
	return TimeChart{
		Title:  "Error rate: checkout-v2",
		YLabel: "error rate",
		Format: Percent,
		Series: []Series{
			{Name: "treatment", Class: "treatment", Points: treatment},
			{Name: "control", Class: "control", Points: control, Dashed: true},
		},
		Markers: []Marker{
			{T: start.Add(2 * time.Hour), Label: "step 5 %", Class: "step"},
			{T: start.Add(3 * time.Hour), Label: "step 20 %", Class: "step"},
			{T: start.Add(23 * time.Hour), Label: "rolled back: error rate", Class: "rollback"},
		},
		Thresholds: []Threshold{{Y: 0.02, Label: "tolerance", Class: "tolerance"}},
	}
}

// latencyChart is two hours of per-minute p95 latency with a learned baseline and an SLO.
func latencyChart() TimeChart {
	var p95, baseline []Point
	t0 := time.Date(2025, 3, 4, 23, 10, 0, 0, time.UTC)
	for m := range 120 {
		t := t0.Add(time.Duration(m) * time.Minute)
		v := 180 + 40*math.Sin(float64(m)/9) + float64(m%7)*3
		if m >= 50 && m < 58 {
			v = nan
		}
		p95 = append(p95, Point{T: t, Y: v, Lo: nan, Hi: nan})
		baseline = append(baseline, Point{T: t, Y: 190, Lo: 150, Hi: 230})
	}
	return TimeChart{
		Title:      "p95 latency",
		YLabel:     "ms",
		Series:     []Series{{Name: "p95", Points: p95}, {Name: "baseline", Points: baseline, Dashed: true}},
		Thresholds: []Threshold{{Y: 300, Label: "SLO", Class: "slo"}},
	}
}

func conversionBars() BarChart {
	return BarChart{
		Title:  "Conversion by variant",
		YLabel: "conversion",
		Format: Percent,
		Groups: []BarGroup{
			{Label: "checkout", Bars: []Bar{
				{Label: "control", Class: "control", Value: 0.031, Lo: 0.028, Hi: 0.034},
				{Label: "treatment", Class: "treatment", Value: 0.036, Lo: 0.032, Hi: 0.040},
			}},
			{Label: "signup", Bars: []Bar{
				{Label: "control", Class: "control", Value: 0.12, Lo: 0.11, Hi: 0.13},
				{Label: "treatment", Class: "treatment", Value: 0.118, Lo: nan, Hi: nan},
			}},
			{Label: "retention (day 7)", Bars: []Bar{
				{Label: "control", Class: "control", Value: 0.41, Lo: 0.39, Hi: 0.43},
				{Label: "treatment", Class: "treatment", Value: 0.44, Lo: 0.42, Hi: 0.46},
			}},
		},
	}
}

func goldenCases() map[string]template.HTML {
	single := TimeChart{Title: "One sample", Series: []Series{{Name: "requests", Points: []Point{{T: start, Y: 1250, Lo: nan, Hi: nan}}}}}
	fixed := rolloutChart()
	fixed.YMin, fixed.YMax = ptr(0), ptr(0.015)
	return map[string]template.HTML{
		"rollout":   rolloutChart().SVG(),
		"latency":   latencyChart().SVG(),
		"single":    single.SVG(),
		"fixed":     fixed.SVG(),
		"empty":     TimeChart{Title: "Nothing yet", Series: []Series{{Name: "treatment"}}}.SVG(),
		"bars":      conversionBars().SVG(),
		"empty-bar": BarChart{Title: "No variants"}.SVG(),
		"sparkline": Sparkline("Evaluations, last 24 h", []float64{3, 5, 4, 8, nan, 7, 9, 12, 10, 11}, 0, 0),
	}
}

// TestGolden pins the output of typical charts; run go test -update after a deliberate change
// and look at the difference.
func TestGolden(t *testing.T) {
	for name, out := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			mustParse(t, out)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal([]byte(out), want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, out)
			}
		})
	}
}

// TestDeterministic renders each chart twice, and checks that different charts get different
// element ids, so several can share a page.
func TestDeterministic(t *testing.T) {
	first, second := goldenCases(), goldenCases()
	ids := map[string]string{}
	for name, out := range first {
		if out != second[name] {
			t.Errorf("%s: two renderings differ", name)
		}
		id := mustParse(t, out).attrs["aria-labelledby"]
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s share the id %s", name, other, id)
		}
		ids[id] = name
	}
}

// TestDashboardCSSCoversClasses checks that the dashboard's stylesheet has a rule for every
// class the charts use, except the structural ones listed here.
func TestDashboardCSSCoversClasses(t *testing.T) {
	css, err := os.ReadFile("../ui/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	unstyled := []string{
		"legend", "legend-item", "bands", "series", "x", "y", // structure, for pages that want it
		"step", "tolerance", "slo", // the examples' own classes, drawn in the default colours
	}
	cases := goldenCases()
	cases["no-data-spark"] = Sparkline("none", nil, 0, 0)
	cases["lone"] = TimeChart{Title: "lone", Series: []Series{{Points: hours(1, nan, 2)}}}.SVG()
	for name, out := range cases {
		for _, n := range mustParse(t, out).find(func(*node) bool { return true }) {
			for _, class := range strings.Fields(n.attrs["class"]) {
				if !slices.Contains(unstyled, class) && !regexp.MustCompile(`\.`+regexp.QuoteMeta(class)+`([^\w-]|$)`).Match(css) {
					t.Errorf("%s uses class %q, which the dashboard's stylesheet does not style", name, class)
					unstyled = append(unstyled, class) // once is enough
				}
			}
		}
	}
}
