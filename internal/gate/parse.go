package gate

import (
	"bytes"
	"encoding/json"

	"go.yaml.in/yaml/v3"

	"github.com/flagpilot/flagpilot/internal/domain"
)

// Parse reads a gate written in YAML or JSON (YAML is a superset), refusing unknown fields:
// the format of `flagpilot gate create FILE` and of the dashboard's gate form.
func Parse(data []byte) (domain.Gate, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return domain.Gate{}, err
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return domain.Gate{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(asJSON))
	dec.DisallowUnknownFields()
	var g domain.Gate
	if err := dec.Decode(&g); err != nil {
		return domain.Gate{}, err
	}
	return g, nil
}
