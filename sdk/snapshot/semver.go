package snapshot

import "strings"

// Semver is a parsed semantic version (https://semver.org, 2.0.0). Build metadata is dropped:
// it does not take part in precedence.
type Semver struct {
	Major, Minor, Patch uint64
	// Pre is the pre-release part without its leading '-', e.g. "rc.1"; empty for a release.
	Pre string
}

// ParseSemver parses MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], with an optional leading "v".
// It does not allocate.
func ParseSemver(s string) (Semver, bool) {
	var v Semver
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdentifiers(s[i+1:], false) {
			return v, false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.Pre = s[i+1:]
		if !validIdentifiers(v.Pre, true) {
			return v, false
		}
		s = s[:i]
	}
	var ok bool
	if v.Major, s, ok = numericPart(s, true); !ok {
		return v, false
	}
	if v.Minor, s, ok = numericPart(s, true); !ok {
		return v, false
	}
	if v.Patch, s, ok = numericPart(s, false); !ok || s != "" {
		return v, false
	}
	return v, true
}

// numericPart reads a number without leading zeros, then a '.' when dot is set.
func numericPart(s string, dot bool) (uint64, string, bool) {
	i := 0
	var n uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > (1<<63)/10 {
			return 0, s, false
		}
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	s = s[i:]
	if dot {
		if s == "" || s[0] != '.' {
			return 0, s, false
		}
		s = s[1:]
	}
	return n, s, true
}

func validIdentifiers(s string, noLeadingZero bool) bool {
	if s == "" {
		return false
	}
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if noLeadingZero && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or +1 by semantic-version precedence.
func (v Semver) Compare(w Semver) int {
	for _, d := range [3][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "": // a release ranks above its pre-releases
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := v.Pre, w.Pre
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func compareIdentifier(x, y string) int {
	xn, yn := isNumeric(x), isNumeric(y)
	switch {
	case xn && yn:
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	case xn: // numeric identifiers rank below alphanumeric ones
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
