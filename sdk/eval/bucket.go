package eval

// Bucketing assigns a unit to one of 100,000 buckets, so rollout weights have 0.001 %
// granularity. The formula, which every SDK in any language must reproduce exactly (the vectors
// in testdata/bucketing_vectors.json pin it):
//
//	input  = UTF-8 bytes of salt + "/" + value
//	h      = FNV-1a 64-bit over input   (offset basis 0xcbf29ce484222325, prime 0x100000001b3)
//	h     ^= h >> 33
//	h     *= 0xff51afd7ed558ccd         (all arithmetic modulo 2^64)
//	h     ^= h >> 33
//	h     *= 0xc4ceb9fe1a85ec53
//	h     ^= h >> 33
//	bucket = h mod 100000
//
// FNV-1a is trivial to implement everywhere; its low bits mix poorly for keys that differ only
// in their last bytes, so the MurmurHash3 64-bit finaliser (fmix64) spreads every input bit over
// the whole word before the modulo. salt defaults to the flag key and value to the targeting key.
//
// Variants then take contiguous bucket ranges in the order of the rollout's weights: with
// weights on: 10, off: 90, buckets [0, 10000) serve "on" and [10000, 100000) serve "off".

const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func finalize(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// saltState is the FNV-1a state after hashing salt + "/", precomputed once per rollout.
func saltState(salt string) uint64 {
	return fnvString(fnvString(fnvOffset, salt), "/")
}

func bucketFrom(state uint64, value string) uint32 {
	return uint32(finalize(fnvString(state, value)) % bucketCount)
}

const bucketCount = 100_000

// Bucket returns the bucket in [0, 100000) of value under salt.
func Bucket(salt, value string) uint32 {
	return bucketFrom(saltState(salt), value)
}
