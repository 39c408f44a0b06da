package flagfile

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"sort"
	"strconv"

	"github.com/flagpilot/flagpilot/sdk/snapshot"
	"go.yaml.in/yaml/v3"
)

// Both formats are read into a yaml.Node tree, which keeps key order, duplicate keys and line
// numbers; decode then checks that tree against the model.

// maxDepth bounds the nesting of a file, so that hostile input cannot exhaust the stack. The
// model itself nests about ten levels deep; the rest is for JSON variant values.
const maxDepth = 100

// syntaxError is a file that cannot be parsed at all.
func syntaxError(line int, message string) error {
	return snapshot.ValidationError{{Line: line, Message: message}}
}

// readYAML parses a YAML file holding one document into its root node, nil when it is empty.
func readYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF:
		return nil, nil
	case err != nil:
		return nil, yamlSyntaxError(data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
		return doc.Content[0], nil
	case err != nil:
		return nil, yamlSyntaxError(data, err)
	default:
		return nil, syntaxError(next.Line, "a flag file holds a single YAML document")
	}
}

// yamlMessage matches the prefix of the parser's "yaml: line N: message", capturing N.
var yamlMessage = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): )?`)

// yamlSyntaxError reports a YAML syntax error at the line where it is. The parser's own line
// is often where the enclosing block or flow collection started, and is 0-based for some
// errors, so it is only a lower bound: the error is on the first line L such that the first L
// lines of the file already fail with the same message.
func yamlSyntaxError(data []byte, err error) error {
	full := err.Error()
	loc := yamlMessage.FindStringSubmatch(full) // always matches, if only the empty prefix
	message := full[len(loc[0]):]
	lower, _ := strconv.Atoi(loc[1])
	lower = max(lower, 1)
	ends := lineEnds(data)
	sameError := func(lines int) bool {
		msg, failed := yamlFailure(data[:ends[lines-1]])
		return failed && msg == message
	}
	line := lower + sort.Search(len(ends)-lower+1, func(i int) bool { return sameError(lower + i) })
	return syntaxError(min(line, len(ends)), message)
}

// lineEnds returns the offset just past each line of data.
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] < len(data) {
		ends = append(ends, len(data))
	}
	return ends
}

// yamlFailure parses every document of data and returns the first error's message without
// its location.
func yamlFailure(data []byte) (string, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			msg := err.Error()
			return msg[len(yamlMessage.FindString(msg)):], true
		}
	}
}

// readJSON parses a JSON file into a node tree like the one the YAML parser builds. JSON is
// nearly YAML's flow syntax, but not quite (the YAML parser refuses "\/" and surrogate pairs,
// and keys longer than 1024 characters), so it gets its own reader.
func readJSON(data []byte) (*yaml.Node, error) {
	r := &jsonReader{data: data, dec: json.NewDecoder(bytes.NewReader(data)), line: 1}
	r.dec.UseNumber()
	tok, line, err := r.token()
	if err == io.EOF {
		return nil, syntaxError(1, "empty file: expected a JSON object")
	}
	if err != nil {
		return nil, err
	}
	root, err := r.value(tok, line, 1)
	if err != nil {
		return nil, err
	}
	if _, line, err := r.token(); err != io.EOF {
		if err == nil {
			err = syntaxError(line, "unexpected data after the top-level value")
		}
		return nil, err
	}
	return root, nil
}

type jsonReader struct {
	data []byte
	dec  *json.Decoder
	// line is the line of offset off.
	line int
	off  int64
}

// token returns the next token and its line. JSON tokens never span lines, so the line where
// a token ends is the line where it starts.
func (r *jsonReader) token() (json.Token, int, error) {
	tok, err := r.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, r.line, err
		}
		return nil, 0, r.syntaxError(err)
	}
	end := r.dec.InputOffset()
	r.line += bytes.Count(r.data[r.off:end], []byte{'\n'})
	r.off = end
	return tok, r.line, nil
}

// syntaxError places a decoder error on the line of the first character the decoder had not
// yet accepted, which is where the offending token starts.
func (r *jsonReader) syntaxError(err error) error {
	rest := r.data[r.dec.InputOffset():]
	at := len(r.data) - len(bytes.TrimLeft(rest, " \t\r\n"))
	message := err.Error()
	if at == len(r.data) || err == io.ErrUnexpectedEOF { // cut short: blame the last line with content
		at = len(bytes.TrimRight(r.data, " \t\r\n"))
		message = "unexpected end of JSON input"
	}
	return syntaxError(1+bytes.Count(r.data[:at], []byte{'\n'}), message)
}

func (r *jsonReader) value(tok json.Token, line, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, syntaxError(line, "nested too deeply")
	}
	switch t := tok.(type) {
	case json.Delim: // always '{' or '[' here: the decoder refuses misplaced closing ones
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: mapTag, Line: line}
		if t == '[' {
			n.Kind, n.Tag = yaml.SequenceNode, seqTag
		}
		for r.dec.More() {
			if n.Kind == yaml.MappingNode {
				key, keyLine, err := r.token()
				if err != nil {
					return nil, r.unexpectedEOF(err)
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: strTag, Value: key.(string), Line: keyLine})
			}
			tok, line, err := r.token()
			if err != nil {
				return nil, r.unexpectedEOF(err)
			}
			child, err := r.value(tok, line, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, child)
		}
		if _, _, err := r.token(); err != nil {
			return nil, r.unexpectedEOF(err)
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: strTag, Value: t, Line: line}, nil
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: numberTag(string(t)), Value: string(t), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: boolTag, Value: strconv.FormatBool(t), Line: line}, nil
	default: // nil
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: nullTag, Value: "null", Line: line}, nil
	}
}

// unexpectedEOF turns the decoder's io.EOF inside a value into a syntax error.
func (r *jsonReader) unexpectedEOF(err error) error {
	if err == io.EOF {
		return r.syntaxError(io.ErrUnexpectedEOF)
	}
	return err
}

// numberTag is the YAML tag of a JSON number: !!int when it is a 64-bit integer, the way the
// YAML parser would resolve it.
func numberTag(text string) string {
	if _, err := strconv.ParseInt(text, 10, 64); err == nil {
		return intTag
	}
	if _, err := strconv.ParseUint(text, 10, 64); err == nil {
		return intTag
	}
	return floatTag
}
