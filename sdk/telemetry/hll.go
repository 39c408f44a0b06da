package telemetry

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
)

// hllPrecision p gives 2^p registers and a standard error of 1.04/√(2^p) ≈ 1.6 %; below
// about 2.5 × 2^p units the estimate is linear counting, within a fraction of a percent.
const hllPrecision = 12

// HLLRegisters is the number of registers of an HLL.
const HLLRegisters = 1 << hllPrecision

// HLL is a HyperLogLog (Flajolet et al. 2007) over 64-bit hashes of unit keys. The zero value
// is empty; two HLLs merge by taking the larger register, so unit counts merge across SDK
// instances and windows without double counting a unit seen by several.
type HLL struct {
	reg [HLLRegisters]uint8
}

// HLLRegister returns the register index and the rank a well-mixed 64-bit hash sets, for
// callers that keep registers of their own (for example atomically).
func HLLRegister(hash uint64) (index int, rank uint8) {
	index = int(hash >> (64 - hllPrecision))
	rest := hash<<hllPrecision | 1<<(hllPrecision-1) // the guard bit bounds the rank
	return index, uint8(bits.LeadingZeros64(rest) + 1)
}

// Add records a well-mixed 64-bit hash of a unit key.
func (h *HLL) Add(hash uint64) {
	i, r := HLLRegister(hash)
	h.SetMax(i, r)
}

// SetMax raises register i to rank r.
func (h *HLL) SetMax(i int, r uint8) {
	if r > h.reg[i] {
		h.reg[i] = r
	}
}

// Merge adds every unit of o.
func (h *HLL) Merge(o *HLL) {
	for i, r := range o.reg {
		if r > h.reg[i] {
			h.reg[i] = r
		}
	}
}

// Estimate returns the estimated number of distinct units.
func (h *HLL) Estimate() int64 {
	const m = float64(HLLRegisters)
	sum, zeros := 0.0, 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	if zeros == HLLRegisters {
		return 0
	}
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros)) // linear counting
	}
	return int64(math.Round(e))
}

// Encoding: a format byte, then either the (index uint16 little-endian, rank) pairs of the set
// registers (sparse, for small unit counts) or every register (dense).
const (
	hllSparse byte = 1
	hllDense  byte = 2
)

// MarshalBinary encodes the HLL in whichever of the two forms is shorter.
func (h *HLL) MarshalBinary() ([]byte, error) {
	set := 0
	for _, r := range h.reg {
		if r != 0 {
			set++
		}
	}
	if 3*set < HLLRegisters {
		out := make([]byte, 1, 1+3*set)
		out[0] = hllSparse
		for i, r := range h.reg {
			if r != 0 {
				out = binary.LittleEndian.AppendUint16(out, uint16(i))
				out = append(out, r)
			}
		}
		return out, nil
	}
	out := make([]byte, 1+HLLRegisters)
	out[0] = hllDense
	copy(out[1:], h.reg[:])
	return out, nil
}

// ErrInvalidHLL is returned for bytes that are not an encoded HLL.
var ErrInvalidHLL = errors.New("invalid unit sketch (expected a HyperLogLog of 4096 registers)")

// UnmarshalBinary decodes what MarshalBinary wrote, replacing h's registers.
func (h *HLL) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return ErrInvalidHLL
	}
	var reg [HLLRegisters]uint8
	const maxRank = 64 - hllPrecision + 1
	switch b[0] {
	case hllSparse:
		pairs := b[1:]
		if len(pairs)%3 != 0 {
			return ErrInvalidHLL
		}
		for ; len(pairs) > 0; pairs = pairs[3:] {
			i := int(binary.LittleEndian.Uint16(pairs))
			if i >= HLLRegisters || pairs[2] == 0 || pairs[2] > maxRank {
				return ErrInvalidHLL
			}
			reg[i] = pairs[2]
		}
	case hllDense:
		if len(b) != 1+HLLRegisters {
			return ErrInvalidHLL
		}
		for i, r := range b[1:] {
			if r > maxRank {
				return ErrInvalidHLL
			}
			reg[i] = r
		}
	default:
		return ErrInvalidHLL
	}
	h.reg = reg
	return nil
}
