package rollout

import (
	"encoding/json"
	"errors"
	"time"
)

// Duration is a time.Duration written in JSON as text such as "10m", as people write plans.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`expected a duration such as "10m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`expected a duration such as "10m"`)
	}
	*d = Duration(v)
	return nil
}
