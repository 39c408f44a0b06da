package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// StaffDomain is the e-mail domain of the shop's own employees, whom the internal-staff
// segment matches.
const StaffDomain = "@mycompany.com"

// User is one simulated shopper. The shop learns who is calling from request headers, as it
// would from a session.
type User struct {
	ID      string // the targeting key
	Email   string
	Country string // ISO 3166 code
}

// Staff reports whether u works for the company: the internal-staff segment's rule.
func (u User) Staff() bool { return strings.HasSuffix(u.Email, StaffDomain) }

// Shares of the population.
const (
	staffShare  = 0.03 // employees who shop, and so see features their segment is given
	canadaShare = 0.10
)

// otherCountries are the countries of the users outside Canada, in proportion.
var otherCountries = []string{"US", "US", "US", "US", "GB", "DE", "FR", "AU", "JP"}

// Population is the demo's simulated users: many, so that a 1 % rollout step reaches enough
// of them and its share of units matches the configured one (a few thousand users would make
// the sample-ratio test see a skewed split).
type Population []User

// NewPopulation draws n users from seed, the same ones for the same seed.
func NewPopulation(n int, seed uint64) Population {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	users := make(Population, n)
	for i := range users {
		u := User{ID: fmt.Sprintf("user-%06d", i), Country: otherCountries[rng.IntN(len(otherCountries))]}
		if rng.Float64() < canadaShare {
			u.Country = "CA"
		}
		u.Email = fmt.Sprintf("shopper%06d@example.com", i)
		if rng.Float64() < staffShare {
			u.Email = fmt.Sprintf("employee%06d%s", i, StaffDomain)
		}
		users[i] = u
	}
	return users
}
