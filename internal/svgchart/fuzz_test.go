package svgchart

import (
	"encoding/binary"
	"html/template"
	"math"
	"testing"
	"time"
)

// fuzzInput reads chart data from fuzz bytes; it yields zeros once they run out.
type fuzzInput []byte

func (in *fuzzInput) byte() byte {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return b
}

func (in *fuzzInput) uint16() uint16 { return uint16(in.byte())<<8 | uint16(in.byte()) }

// value is mostly an ordinary number, sometimes NaN, an infinity or any bit pattern at all.
func (in *fuzzInput) value() float64 {
	switch kind := in.byte(); {
	case kind == 0:
		return math.NaN()
	case kind == 1:
		return math.Inf(1)
	case kind == 2:
		return math.Inf(-1)
	case kind == 3:
		var b [8]byte
		for i := range b {
			b[i] = in.byte()
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
	case kind < 128:
		return float64(int16(in.uint16())) / float64(kind)
	default:
		return float64(in.uint16()) * math.Pow(10, float64(int(kind%32)-16))
	}
}

// instant is a time near a base, at a resolution from nanoseconds to weeks, or now and then
// a time far from it.
func (in *fuzzInput) instant() time.Time {
	units := []time.Duration{time.Nanosecond, time.Millisecond, time.Second, time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	kind := in.byte()
	if kind == 255 {
		return time.Unix(int64(int32(uint32(in.uint16())<<16|uint32(in.uint16())))*int64(in.uint16()+1), 0)
	}
	return start.Add(time.Duration(int16(in.uint16())) * units[int(kind)%len(units)])
}

func (in *fuzzInput) bound() *float64 {
	if in.byte()%3 != 0 {
		return nil
	}
	v := in.value()
	return &v
}

// FuzzCharts renders time charts, bar charts and sparklines from random data and labels: they
// never panic, always give well-formed XML with finite coordinates (parseSVG's checks), and
// give the same bytes twice.
func FuzzCharts(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{2, 5, 4, 0, 1, 10, 4, 0, 2, 20, 0, 0, 4, 0, 3, 30, 5, 5, 1}, "label")
	f.Add([]byte{1, 1, 3, 255, 255, 255, 255, 255, 255, 239, 127, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0}, hostile)
	f.Add([]byte{3, 40, 2, 9, 9, 200, 1, 2, 1, 0, 5, 6, 7, 8, 255, 1, 2, 3, 4, 5, 6, 0, 0, 2, 2}, "\x00\xff\ufffe")
	f.Fuzz(func(t *testing.T, data []byte, label string) {
		in := fuzzInput(data)
		chart := TimeChart{
			Title: label, YLabel: label,
			Width: int(int16(in.uint16())), Height: int(int16(in.uint16())),
			YMin: in.bound(), YMax: in.bound(),
		}
		var flat []float64
		bars := BarChart{Title: label, YLabel: label, Width: chart.Width, Height: chart.Height}
		for s := range int(in.byte() % 5) {
			series := Series{Name: label, Dashed: s%2 == 1}
			group := BarGroup{Label: label}
			for range int(in.byte() % 50) {
				p := Point{T: in.instant(), Y: in.value(), Lo: in.value(), Hi: in.value()}
				series.Points = append(series.Points, p)
				flat = append(flat, p.Y)
				if len(group.Bars) < 6 {
					group.Bars = append(group.Bars, Bar{Label: label, Value: p.Y, Lo: p.Lo, Hi: p.Hi})
				}
			}
			chart.Series = append(chart.Series, series)
			bars.Groups = append(bars.Groups, group)
		}
		for range int(in.byte() % 6) {
			chart.Markers = append(chart.Markers, Marker{T: in.instant(), Label: label})
		}
		for range int(in.byte() % 3) {
			chart.Thresholds = append(chart.Thresholds, Threshold{Y: in.value(), Label: label})
		}
		if in.byte()%2 == 1 {
			chart.Format, bars.Format = Percent, Percent
		}
		side := int(int16(in.uint16()))

		for name, render := range map[string]func() template.HTML{
			"time chart": chart.SVG,
			"bar chart":  bars.SVG,
			"sparkline":  func() template.HTML { return Sparkline(label, flat, side, side/4) },
		} {
			out := render()
			if _, err := parseSVG(out); err != nil {
				t.Fatalf("%s: %v in\n%s", name, err, out)
			}
			if again := render(); again != out {
				t.Fatalf("%s: two renderings differ", name)
			}
		}
	})
}
