package rollout

import (
	"math"
)

// This file holds the anytime-valid tests of DECISION.md: each is a running sum of sufficient
// statistics, updated one batch (window × step) at a time, whose e-value may be read at any
// tick without inflating the false-alarm rate (Ville's inequality).

// rateProcess is the count e-process on the ratio of error rates, treatment vs concurrent
// control (DECISION.md 2.4): conditional on the errors of a batch, the treatment's share is
// binomial with a probability that depends on the ratio r alone, so the time-varying baseline
// rate cancels. It tests H0: r ≤ r0 (harm) or, mirrored, H0: r ≥ r0 (non-inferiority) against
// a grid of alternatives with equal weights.
type rateProcess struct {
	R0   float64   `json:"r0"`
	Alts []float64 `json:"alts"`
	// LogLR[j] is Σ_k ℓ_k(Alts[j]), the untempered log likelihood ratio against R0.
	LogLR []float64 `json:"logLR"`
}

func newRateProcess(r0 float64, alts []float64) rateProcess {
	return rateProcess{R0: r0, Alts: alts, LogLR: make([]float64, len(alts))}
}

// harmGrid is the default alternative grid for H0: r ≤ r0, as multiples of r0.
var harmGrid = [...]float64{1.1, 1.25, 1.5, 2, 3, 5, 10}

func newHarmProcess(r0 float64) rateProcess {
	alts := make([]float64, len(harmGrid))
	for i, m := range harmGrid {
		alts[i] = r0 * m
	}
	return newRateProcess(r0, alts)
}

// add updates the process with one batch: nT, nC requests and xT, xC errors per arm.
func (p *rateProcess) add(nT, xT, nC, xC int64) {
	if nT <= 0 || nC <= 0 || xT+xC == 0 {
		return // a batch without both arms or without errors carries no information on r
	}
	pi0 := share(p.R0, nT, nC)
	for j, r := range p.Alts {
		pi := share(r, nT, nC)
		p.LogLR[j] += float64(xT)*math.Log(pi/pi0) + float64(xC)*math.Log((1-pi)/(1-pi0))
	}
}

// share is π(r): the expected treatment share of a batch's errors when the rate ratio is r.
func share(r float64, nT, nC int64) float64 {
	t := r * float64(nT)
	return t / (t + float64(nC))
}

// logE is the log of the mixture e-value with the likelihood tempered by the dispersion phi ≥ 1
// (quasi-likelihood: clustered errors carry less information than independent ones).
func (p *rateProcess) logE(phi float64) float64 {
	terms := make([]float64, len(p.LogLR))
	for j, l := range p.LogLR {
		terms[j] = l / phi
	}
	return logMeanExp(terms)
}

func (p *rateProcess) reset() {
	clear(p.LogLR)
}

// logMeanExp is log(mean(exp(x))), computed without overflow.
func logMeanExp(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s/float64(len(x)))
}

// dispersion estimates how over-dispersed the control arm's error counts are (Pearson's
// statistic over recent control batches, inflated to its ≈ 90 % upper bound), so that the count
// e-process stays valid when errors come in bursts (DECISION.md 2.4 "Over-dispersion").
type dispersion struct {
	// Batches are the last control batches, oldest first, at most maxDispersionBatches.
	Batches []countPair `json:"batches"`
}

type countPair struct {
	N int64 `json:"n"`
	X int64 `json:"x"`
}

const maxDispersionBatches = 240

func (d *dispersion) add(n, x int64) {
	if n <= 0 {
		return
	}
	if len(d.Batches) == maxDispersionBatches {
		d.Batches = append(d.Batches[:0], d.Batches[1:]...)
	}
	d.Batches = append(d.Batches, countPair{n, x})
}

// phi is the dispersion factor, at least 1; with fewer than 5 batches it cannot be estimated
// and the inflation alone would dominate, so it is 1 until then.
func (d *dispersion) phi() float64 {
	k := len(d.Batches)
	if k < 5 {
		return 1
	}
	n, x := sumBatches(d.Batches)
	if x == 0 {
		return 1
	}
	p := float64(x) / float64(n)
	chi := 0.0
	for _, b := range d.Batches {
		e := float64(b.N) * p
		d := float64(b.X) - e
		chi += d * d / e
	}
	est := chi / float64(k-1) * (1 + 1.28*math.Sqrt(2/float64(k-1)))
	return max(1, est)
}

// rate is the pooled error rate of the batches.
func (d *dispersion) rate() float64 {
	n, x := sumBatches(d.Batches)
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// countsBefore sums the requests and errors of the n batches that precede the last skip ones.
func (d *dispersion) countsBefore(skip, n int) (requests, errors int64) {
	end := max(0, len(d.Batches)-skip)
	return sumBatches(d.Batches[max(0, end-n):end])
}

func sumBatches(batches []countPair) (n, x int64) {
	for _, b := range batches {
		n += b.N
		x += b.X
	}
	return n, x
}

// meanProcess is the one-sided normal-mixture e-process on a difference of means (DECISION.md
// 2.5 (a)), used on mean log-latency. Each batch contributes its estimated difference Δ_k with
// variance s²·c_k, c_k = 1/nT + 1/nC; s² is pooled from within-batch variation, so a drifting
// baseline does not inflate it. Keeping Σ Δ_k/c_k and Σ 1/c_k lets s² be re-estimated at every
// look.
type meanProcess struct {
	// Delta0 is the tolerated shift; Sign +1 tests H0: Δ ≤ Delta0 (harm), −1 tests
	// H0: Δ ≥ Delta0 (non-inferiority).
	Delta0 float64 `json:"delta0"`
	Sign   float64 `json:"sign"`
	A      float64 `json:"a"` // Σ sign·(Δ_k − Delta0)/c_k
	B      float64 `json:"b"` // Σ 1/c_k
}

// add updates the process with one batch's arm means and sizes.
func (p *meanProcess) add(meanT float64, nT int64, meanC float64, nC int64) {
	if nT < 2 || nC < 2 {
		return
	}
	c := 1/float64(nT) + 1/float64(nC)
	p.A += p.Sign * (meanT - meanC - p.Delta0) / c
	p.B += 1 / c
}

// logE is the log e-value given the pooled per-observation variance s2 and the mixture scale
// tau (on the effect).
func (p *meanProcess) logE(s2, tau float64) float64 {
	if p.B == 0 || s2 <= 0 {
		return 0
	}
	S, I := p.A/s2, p.B/s2
	t2 := tau * tau
	d := 1 + t2*I
	return math.Ln2 - 0.5*math.Log(d) + t2*S*S/(2*d) + logNormCDF(tau*S/math.Sqrt(d))
}

func (p *meanProcess) reset() { p.A, p.B = 0, 0 }

// logNormCDF is log Φ(x), accurate far into the lower tail.
func logNormCDF(x float64) float64 {
	if x > -30 {
		return math.Log(0.5 * math.Erfc(-x/math.Sqrt2))
	}
	// Mills ratio: Φ(x) ≈ φ(x)/|x| for very negative x.
	return -x*x/2 - math.Log(-x) - 0.5*math.Log(2*math.Pi)
}

// mixtureScale is τ tuned so that the mixture is most powerful near the minimum detectable
// effect mde with power 1−beta at level alpha (DECISION.md 2.5 (a), GrowthBook's tuning).
func mixtureScale(alpha, beta, mde float64) float64 {
	z := normQuantile(1-alpha) + normQuantile(1-beta)
	iStar := z * z / (mde * mde)
	l := math.Log(1 / alpha)
	return math.Sqrt((2*l + math.Log(1+2*l)) / iStar)
}

// normQuantile is Φ⁻¹(p).
func normQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// pooledVariance keeps within-batch sums of squares of one variable over both arms.
type pooledVariance struct {
	SS float64 `json:"ss"` // Σ within-batch sums of squared deviations
	DF float64 `json:"df"` // Σ (n_k − 1)
}

// add takes one arm-batch's n, Σx, Σx².
func (v *pooledVariance) add(n int64, sum, sumSq float64) {
	if n < 2 {
		return
	}
	ss := sumSq - sum*sum/float64(n)
	v.SS += max(0, ss)
	v.DF += float64(n - 1)
}

func (v *pooledVariance) value() float64 {
	if v.DF < 1 {
		return 0
	}
	return v.SS / v.DF
}

// srmProcess is the sequential sample-ratio-mismatch test (DECISION.md 2.7). Instead of a
// separate beta-binomial mixture per step, whose evidence would not add up across short steps,
// it tests one parameter for the whole rollout: θ, the ratio between the treatment's observed
// and configured exposure rates (θ = 1 without mismatch). Given a window's units, the
// treatment's count is binomial with probability θρ/(θρ + 1 − ρ) at share ρ, which is the
// rate process with the shares in place of request counts, mixed over θ on both sides of 1.
type srmProcess struct {
	Ratio rateProcess `json:"ratio"`
}

var srmGrid = []float64{0.9, 0.95, 0.97, 0.98, 0.99, 1 / 0.99, 1 / 0.98, 1 / 0.97, 1 / 0.95, 1 / 0.9}

func newSRMProcess() srmProcess {
	return srmProcess{Ratio: newRateProcess(1, srmGrid)}
}

// add takes one window's units per arm at treatment share rho (0 < rho < 1).
func (p *srmProcess) add(rho float64, unitsT, unitsC int64) {
	if rho <= 0 || rho >= 1 {
		return
	}
	const scale = 1 << 20 // the shares as pseudo-counts: only their ratio matters
	p.Ratio.add(int64(rho*scale), unitsT, int64((1-rho)*scale), unitsC)
}

func (p *srmProcess) logE() float64 { return p.Ratio.logE(1) }
