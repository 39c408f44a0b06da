package svgchart

import (
	"math"
	"strconv"
	"time"
)

// units are the suffixes of compact numbers, largest first.
var units = []struct {
	size   float64
	suffix string
}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}}

// Compact formats v with three significant digits and a k, M, G or T suffix: 1234 → "1.23k",
// 0.5 → "0.5", 0.00002 → "2e-05". It is the charts' default Format.
func Compact(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	r := roundSignificant(v, 3)
	if a := math.Abs(r); a < 1e15 {
		for _, u := range units {
			if a >= u.size {
				return strconv.FormatFloat(r/u.size, 'g', 3, 64) + u.suffix
			}
		}
	}
	return strconv.FormatFloat(r, 'g', 3, 64)
}

// orCompact is format, or Compact when the caller gave none.
func orCompact(format func(float64) string) func(float64) string {
	if format == nil {
		return Compact
	}
	return format
}

// Percent formats a fraction as a percentage with three significant digits: 0.005 → "0.5 %".
func Percent(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(roundSignificant(v*100, 3), 'g', 3, 64) + " %"
}

func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "n/a", true
	case math.IsInf(v, 1):
		return "∞", true
	case math.IsInf(v, -1):
		return "-∞", true
	}
	return "", false
}

// roundSignificant rounds v to the given number of significant digits, in decimal.
func roundSignificant(v float64, digits int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', digits, 64), 64)
	if r == 0 {
		return 0 // no "-0"
	}
	return r
}

// tickLabels formats the ticks of a value axis. With the caller's format it is used as is;
// the default gives the whole axis one suffix and as many decimals as the step needs, so
// neighbouring labels never read the same: 0.5k, 1.0k, 1.5k.
func tickLabels(ax axis, format func(float64) string) []string {
	labels := make([]string, len(ax.ticks))
	if format != nil {
		for i, v := range ax.ticks {
			labels[i] = format(v)
		}
		return labels
	}
	maxAbs := ax.step
	for _, v := range ax.ticks {
		maxAbs = math.Max(maxAbs, math.Abs(v))
	}
	unit, suffix := 1.0, ""
	for _, u := range units {
		if maxAbs >= u.size {
			unit, suffix = u.size, u.suffix
			break
		}
	}
	if maxAbs >= 1e15 || ax.step/unit < 1e-6 {
		// Exponent notation, with enough digits to tell a step apart at this magnitude.
		digits := min(max(int(math.Ceil(math.Log10(maxAbs/ax.step)))+1, 1), 17)
		for i, v := range ax.ticks {
			labels[i] = strconv.FormatFloat(v, 'g', digits, 64)
		}
		return labels
	}
	decimals := max(int(math.Ceil(-math.Log10(ax.step/unit)-1e-9)), 0)
	for i, v := range ax.ticks {
		if math.Abs(v) < ax.step/2 {
			labels[i] = "0" // not "0.0k", nor "-0.0" from rounding noise
			continue
		}
		labels[i] = strconv.FormatFloat(v/unit, 'f', decimals, 64) + suffix
	}
	return labels
}

// formatTime writes an instant for tooltips and descriptions, in UTC, to the second only when
// it has seconds.
func formatTime(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Nanosecond() != 0:
		return t.Format("2006-01-02 15:04:05.000 UTC")
	case t.Second() != 0:
		return t.Format("2006-01-02 15:04:05 UTC")
	default:
		return t.Format("2006-01-02 15:04 UTC")
	}
}

// formatValue writes a value with its interval, when it has one: "1.2k [1.1k, 1.3k]".
func formatValue(v, lo, hi float64, format func(float64) string) string {
	s := format(v)
	if hasInterval(lo, hi) {
		s += " [" + format(lo) + ", " + format(hi) + "]"
	}
	return s
}
