package flagfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Marshal writes d as a flag file. The output is deterministic: fields in the order of the Go
// structs, map keys sorted (encoding/json sorts them), variants and weights in their own order;
// YAML in block style with a 2-space indent, JSON with a 2-space indent. It does not validate d.
func Marshal(d *Document, format Format) ([]byte, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("flagfile: %w", err)
	}
	// Reading encoding/json's output back as a tree keeps its order and gives both writers
	// below the same input.
	root, err := readJSON(data)
	if err != nil {
		return nil, fmt.Errorf("flagfile: %w", err)
	}
	var buf bytes.Buffer
	switch format {
	case FormatYAML:
		setYAMLStyle(root)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(root); err != nil {
			return nil, fmt.Errorf("flagfile: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("flagfile: %w", err)
		}
	case FormatJSON:
		writeJSON(&buf, root, "")
		buf.WriteByte('\n')
	default:
		return nil, fmt.Errorf("flagfile: unknown format %d", format)
	}
	return buf.Bytes(), nil
}

// setYAMLStyle turns a tree read from JSON into block style and quotes only the strings that
// need it: those YAML would read as something else (numbers, booleans, dates, and YAML 1.1
// booleans like "on" and "yes", which other tools still read as booleans).
func setYAMLStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == strTag && !plainString(n.Value) {
		// Encoding the string on its own lets the YAML library pick the style.
		var styled yaml.Node
		styled.Encode(n.Value) // a string always encodes
		n.Style = styled.Style
	}
	for _, c := range n.Content {
		setYAMLStyle(c)
	}
}

// plainWord matches strings that YAML reads as strings when they are written plain, provided
// they are longer than five characters: the words YAML reads as something else (true, null,
// YAML 1.1's yes and off, ...) are all shorter.
var plainWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]*$`)

// plainString is a fast path for the common keys and names: encoding a string to learn its
// style takes the YAML library some 50 µs.
func plainString(s string) bool {
	return len(s) > 5 && plainWord.MatchString(s)
}

// writeJSON writes a tree read from JSON with a 2-space indent.
func writeJSON(buf *bytes.Buffer, n *yaml.Node, indent string) {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		open, end, step := "{", "}", 2
		if n.Kind == yaml.SequenceNode {
			open, end, step = "[", "]", 1
		}
		if len(n.Content) == 0 {
			buf.WriteString(open + end)
			return
		}
		inner := indent + "  "
		buf.WriteString(open)
		for i := 0; i < len(n.Content); i += step {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n" + inner)
			if step == 2 {
				writeString(buf, n.Content[i].Value)
				buf.WriteString(": ")
			}
			writeJSON(buf, n.Content[i+step-1], inner)
		}
		buf.WriteString("\n" + indent + end)
	default:
		if n.Tag == strTag {
			writeString(buf, n.Value)
		} else { // numbers, booleans and null as read
			buf.WriteString(n.Value)
		}
	}
}
