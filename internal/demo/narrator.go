package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// narrator prints the story, each paragraph stamped with the time since the demo began. The
// Slack stand-in prints through it too, from its own goroutine.
type narrator struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
}

// stampWidth is the width of a stamp such as "[ 12.3s] ", which continuation lines are
// indented by.
const stampWidth = 9

// say prints a paragraph; its lines after the first are indented under the first.
func (n *narrator) say(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	n.mu.Lock()
	defer n.mu.Unlock()
	stamp := fmt.Sprintf("[%5.1fs] ", time.Since(n.start).Seconds())
	indent := strings.Repeat(" ", stampWidth)
	fmt.Fprint(n.out, stamp+strings.ReplaceAll(text, "\n", "\n"+indent)+"\n")
}

// heading prints a title between blank lines, unstamped.
func (n *narrator) heading(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.out, "\n"+format+"\n\n", args...)
}

// elapsed is the time since the demo began, rounded for people.
func (n *narrator) elapsed() time.Duration { return time.Since(n.start).Round(100 * time.Millisecond) }

// percent formats a share such as 0.0123 as "1.2 %".
func percent(share float64) string { return fmt.Sprintf("%.1f %%", 100*share) }

// count formats a count with thousands separators: 28411 as "28,411".
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
