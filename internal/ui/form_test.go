package ui_test

import (
	"html"
	"regexp"
)

// Just enough HTML reading to submit the dashboard's own forms as a browser would; the
// browser tests in cmd/flagpilot drive a real one.
var (
	inputTag       = regexp.MustCompile(`<input\b[^>]*>`)
	selectTag      = regexp.MustCompile(`(?s)<select\b[^>]*>(.*?)</select>`)
	selectedOption = regexp.MustCompile(`<option\b[^>]*\bselected\b[^>]*>([^<]*)`)
	textareaTag    = regexp.MustCompile(`(?s)<textarea\b[^>]*>(.*?)</textarea>`)
)

// attr returns the value of an attribute of a tag, unescaped.
func attr(tag, name string) string {
	m := regexp.MustCompile(`\b` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}
