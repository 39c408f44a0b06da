// Package auth creates and checks Flagpilot's secrets (admin tokens, SDK keys and dashboard
// sessions), derives CSRF tokens from sessions, limits login attempts, and carries the
// authenticated principal through a request's context.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Secret type prefixes. They make a leaked secret recognisable (secret scanners, logs) and let
// Authenticate look in the right table.
const (
	PrefixAdminToken = "fpa_"
	PrefixServerKey  = "fps_"
	PrefixClientKey  = "fpc_"
	PrefixSession    = "fpd_" // a dashboard session, carried in a cookie
)

// secretBytes is the entropy of every secret: 256 bits.
const secretBytes = 32

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a new random secret: the type prefix followed by 32 bytes from crypto/rand,
// base32-encoded in lower case without padding.
func NewSecret(prefix string) string {
	b := make([]byte, secretBytes)
	rand.Read(b) // never returns an error; it aborts the program if the OS has no randomness
	return prefix + strings.ToLower(encoding.EncodeToString(b))
}

// Hash returns the SHA-256 of a secret, the only form in which secrets are stored. Secrets are
// 256 random bits, not passwords, so a fast hash is enough: there is nothing to brute-force and
// a slow KDF would only make every API request slower.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// displayChars is how many characters after the type prefix Prefix keeps: enough to tell keys
// apart in a list, far too few to guess the rest.
const displayChars = 6

// Prefix returns the part of a secret that may be shown and stored in clear: the type prefix
// and the next six characters.
func Prefix(secret string) string {
	n := len(typePrefix(secret)) + displayChars
	if n > len(secret) {
		n = len(secret)
	}
	return secret[:n]
}

// typePrefix returns the known type prefix of secret, or "".
func typePrefix(secret string) string {
	for _, p := range []string{PrefixAdminToken, PrefixServerKey, PrefixClientKey, PrefixSession} {
		if strings.HasPrefix(secret, p) {
			return p
		}
	}
	return ""
}
