package svgchart

import (
	"math"
	"time"
)

// maxMagnitude bounds the values an axis spans. Far beyond any metric, it keeps every bound,
// step and tick finite; values beyond it are drawn at the edge.
const maxMagnitude = 1e300

// axis is the range of a value axis and its ticks, step apart.
type axis struct {
	lo, hi float64
	step   float64
	ticks  []float64
}

// scale maps v from the axis range onto from..to, clamped to that interval. Halving before
// subtracting keeps the arithmetic finite for any finite input.
func (ax axis) scale(v, from, to float64) float64 {
	f := (v/2 - ax.lo/2) / (ax.hi/2 - ax.lo/2)
	f = math.Max(0, math.Min(1, f))
	if math.IsNaN(f) {
		f = 0
	}
	return from + f*(to-from)
}

// valueAxis picks the range and ticks of a value axis for data spanning lo..hi. A fixed bound
// (nil or non-finite when absent) is kept as given; a free bound is rounded outward to the
// next tick. Ticks are 1, 2 or 5 × 10^k apart, about maxTicks of them. Contradictory fixed
// bounds (min ≥ max) are ignored, and a range too narrow to divide is widened.
func valueAxis(lo, hi float64, fixedLo, fixedHi *float64, maxTicks int) axis {
	keepLo := fixedLo != nil && finite(*fixedLo)
	keepHi := fixedHi != nil && finite(*fixedHi)
	if keepLo && keepHi && !(*fixedLo < *fixedHi) {
		keepLo, keepHi = false, false
	}
	if keepLo {
		lo = *fixedLo
	}
	if keepHi {
		hi = *fixedHi
	}
	lo, hi = widened(lo, hi, keepLo, keepHi)

	n := float64(max(maxTicks, 1))
	step := niceStep(hi/n - lo/n)
	// The tolerance absorbs floating-point noise: 0.3/0.1 is 2.9999999999999996.
	k0, k1 := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	if keepLo {
		k0 = math.Ceil(lo/step - 1e-9)
	} else {
		lo = k0 * step
	}
	if keepHi {
		k1 = math.Floor(hi/step + 1e-9)
	} else {
		hi = k1 * step
	}
	ax := axis{lo: lo, hi: hi, step: step}
	for k := k0; k <= k1 && len(ax.ticks) <= maxTicks+2; k++ {
		v := k * step
		if v == 0 {
			v = 0 // no "-0"
		}
		ax.ticks = append(ax.ticks, v)
	}
	return ax
}

// widened returns lo..hi within ±maxMagnitude, or a range around it wide enough to divide into
// ticks when it is not: a single value, values alike to a billionth, or hi below lo. A range of
// non-negative values stays non-negative, and only a free bound moves, unless both are fixed.
func widened(lo, hi float64, keepLo, keepHi bool) (float64, float64) {
	lo = math.Max(-maxMagnitude, math.Min(maxMagnitude, lo))
	hi = math.Max(-maxMagnitude, math.Min(maxMagnitude, hi))
	// Below a billionth of the magnitude, ticks would print alike; below 1e-250, steps underflow.
	minSpan := math.Max(math.Max(math.Abs(lo), math.Abs(hi))*1e-9, 1e-250)
	if hi-lo >= minSpan {
		return lo, hi
	}
	mid := lo/2 + hi/2
	half := math.Max(math.Abs(mid)*0.1, minSpan)
	if mid == 0 {
		half = 1
	}
	switch {
	case keepLo && !keepHi:
		return lo, lo + 2*half
	case keepHi && !keepLo:
		return hi - 2*half, hi
	case !keepLo && mid >= 0 && mid-half < 0:
		return 0, 2 * half
	default:
		return mid - half, mid + half
	}
}

// niceStep rounds a positive step up to 1, 2 or 5 × 10^k.
func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*mag*(1+1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// timeStep is a distance between time ticks: a fixed duration up to two weeks, calendar
// months beyond.
type timeStep struct {
	every  time.Duration
	months int
	layout string
}

const (
	day   = 24 * time.Hour
	month = 30.44 * 24 * 60 * 60 // seconds, on average
)

var timeSteps = []timeStep{
	{every: time.Second, layout: "15:04:05"},
	{every: 2 * time.Second, layout: "15:04:05"},
	{every: 5 * time.Second, layout: "15:04:05"},
	{every: 10 * time.Second, layout: "15:04:05"},
	{every: 15 * time.Second, layout: "15:04:05"},
	{every: 30 * time.Second, layout: "15:04:05"},
	{every: time.Minute, layout: "15:04"},
	{every: 2 * time.Minute, layout: "15:04"},
	{every: 5 * time.Minute, layout: "15:04"},
	{every: 10 * time.Minute, layout: "15:04"},
	{every: 15 * time.Minute, layout: "15:04"},
	{every: 30 * time.Minute, layout: "15:04"},
	{every: time.Hour, layout: "15:04"},
	{every: 2 * time.Hour, layout: "15:04"},
	{every: 3 * time.Hour, layout: "15:04"},
	{every: 6 * time.Hour, layout: "15:04"},
	{every: 12 * time.Hour, layout: "15:04"},
	{every: day, layout: "Jan 2"},
	{every: 2 * day, layout: "Jan 2"},
	{every: 7 * day, layout: "Jan 2"},
	{every: 14 * day, layout: "Jan 2"},
	{months: 1, layout: "Jan 2006"},
	{months: 2, layout: "Jan 2006"},
	{months: 3, layout: "Jan 2006"},
	{months: 6, layout: "Jan 2006"},
}

// dateLayout labels the ticks at midnight of sub-day steps, so the date is never lost.
const dateLayout = "Jan 2"

type timeTick struct {
	t     time.Time
	label string
}

// timeTicks picks UTC ticks between t0 and t1 (t0 before t1) for an axis width wide: the
// smallest step from seconds to years whose labels do not crowd each other.
func timeTicks(t0, t1 time.Time, width float64) []timeTick {
	t0, t1 = t0.UTC(), t1.UTC()
	span := seconds(t1) - seconds(t0)
	for _, s := range timeSteps {
		if span/s.seconds() <= s.room(width) {
			return s.ticks(t0, t1)
		}
	}
	yearly := timeStep{layout: "2006"}
	years := niceStep(span / (12 * month) / yearly.room(width))
	yearly.months = 12 * int(math.Max(1, math.Min(years, 1e9)))
	return yearly.ticks(t0, t1)
}

func (s timeStep) seconds() float64 {
	if s.months > 0 {
		return float64(s.months) * month
	}
	return s.every.Seconds()
}

// room is how many ticks of this step fit in width without their labels touching.
func (s timeStep) room(width float64) float64 {
	chars := max(len(s.layout), len(dateLayout)+1)
	return math.Max(width/(float64(chars)*charWidth+40), 2)
}

func (s timeStep) ticks(t0, t1 time.Time) []timeTick {
	const limit = 60 // far above what room allows; a guard, not a layout rule
	var ticks []timeTick
	if s.months == 0 {
		t := t0.Truncate(s.every) // multiples since year 1, so days start at UTC midnight
		if t.Before(t0) {
			t = t.Add(s.every)
		}
		for ; !t.After(t1) && len(ticks) < limit; t = t.Add(s.every) {
			layout := s.layout
			if s.every < day && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
				layout = dateLayout
			}
			ticks = append(ticks, timeTick{t, t.Format(layout)})
		}
		return ticks
	}
	// Calendar steps count months from year 0: the first tick is the first month start at or
	// after t0 whose index is a multiple of the step.
	k := int64(s.months)
	index := int64(t0.Year())*12 + int64(t0.Month()) - 1
	if monthStart(index).Before(t0) {
		index++
	}
	if r := index % k; r > 0 {
		index += k - r
	} else if r < 0 {
		index -= r
	}
	for ; len(ticks) < limit; index += k {
		t := monthStart(index)
		if t.After(t1) {
			break
		}
		ticks = append(ticks, timeTick{t, t.Format(s.layout)})
	}
	return ticks
}

func monthStart(index int64) time.Time {
	return time.Date(int(index/12), time.Month(index%12+1), 1, 0, 0, 0, 0, time.UTC)
}

// seconds is t as fractional seconds since 1970, the x coordinate before scaling.
func seconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}
