package sim

import (
	"math"
	"math/rand/v2"
)

// Samplers for counts that may be large: exact for small means, normal approximations where
// the mean is large enough for them to be indistinguishable in a one-minute batch.

func poisson(r *rand.Rand, lambda float64) int64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda < 30:
		l, k, p := math.Exp(-lambda), int64(0), 1.0
		for {
			p *= r.Float64()
			if p <= l {
				return k
			}
			k++
		}
	default:
		return max(0, int64(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
}

func binomial(r *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case n < 40:
		var k int64
		for range n {
			if r.Float64() < p {
				k++
			}
		}
		return k
	case float64(n)*min(p, 1-p) < 25:
		if p <= 0.5 {
			return min(n, poisson(r, float64(n)*p))
		}
		return n - min(n, poisson(r, float64(n)*(1-p)))
	default:
		mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return min(n, max(0, int64(math.Round(mean+sd*r.NormFloat64()))))
	}
}

// clustered draws the errors of n requests at rate p when each error event comes as a burst
// of geometric size with the given mean (retries, one broken client).
func clustered(r *rand.Rand, n int64, p, mean float64) int64 {
	if mean <= 1 {
		return binomial(r, n, p)
	}
	events := poisson(r, float64(n)*p/mean)
	var total int64
	for range events {
		total += geometric(r, mean)
	}
	return total
}

// geometric draws from the geometric distribution on {1, 2, ...} with the given mean (> 1).
func geometric(r *rand.Rand, mean float64) int64 {
	q := 1 / mean // the success probability that gives the mean
	return 1 + int64(math.Floor(math.Log(1-r.Float64())/math.Log(1-q)))
}

// chiSquare draws from χ² with df degrees of freedom.
func chiSquare(r *rand.Rand, df float64) float64 {
	if df <= 0 {
		return 0
	}
	if df > 100 {
		return max(0, df+math.Sqrt(2*df)*r.NormFloat64())
	}
	s := 0.0
	for range int(df) {
		z := r.NormFloat64()
		s += z * z
	}
	return s
}

// logMoments returns the mean and variance of ln(X + shift) for X lognormal(mu, sigma), where
// shift applies only above the quantile of X at zFrom (−∞ for every request), by
// Gauss–Hermite-like integration on a fine grid.
func logMoments(mu, sigma, shift, zFrom float64) (mean, variance float64) {
	const steps = 4000
	const lo, hi = -8.0, 8.0
	h := (hi - lo) / steps
	var m1, m2, w float64
	for i := 0; i <= steps; i++ {
		z := lo + float64(i)*h
		d := math.Exp(-z*z/2) * h
		x := math.Exp(mu + sigma*z)
		v := math.Log(x)
		if z >= zFrom {
			v = math.Log(x + shift)
		}
		m1 += v * d
		m2 += v * v * d
		w += d
	}
	m1 /= w
	return m1, m2/w - m1*m1
}

// tailShare returns the share of requests slower than limit (ms) when X is lognormal(mu, sigma)
// and the requests above the quantile at zFrom are shift ms slower.
func tailShare(mu, sigma, shift, zFrom, limit float64) float64 {
	const steps = 4000
	const lo, hi = -8.0, 8.0
	h := (hi - lo) / steps
	var above, w float64
	for i := 0; i <= steps; i++ {
		z := lo + float64(i)*h
		d := math.Exp(-z*z/2) * h
		x := math.Exp(mu + sigma*z)
		if z >= zFrom {
			x += shift
		}
		if x > limit {
			above += d
		}
		w += d
	}
	return above / w
}
