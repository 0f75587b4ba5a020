package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of untrusted text (chosen by whoever sent a message, or typed on
// the command line) that the CLI prints; longer text is cut with a marker.
const (
	// echoMax: an invalid content echoed back in an error. Short, as the
	// content may carry a secret.
	echoMax = 24
	// fieldMax: a destination, id or error text in a table.
	fieldMax = 200
	// errorMax: the text of an error the command fails with.
	errorMax = 4000
)

// clean returns s as it is safe to print on a terminal, cut to at most max
// runes: control characters (C0, DEL, C1: ESC, BEL, CSI, newline...), bidi
// controls (which reorder what follows) and line separators are shown as Go
// escapes (\x1b, \u009b, \u202e), and bytes that are not UTF-8 as \xNN, so
// text chosen by a sender can neither drive the terminal nor fake output.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if n == max {
			fmt.Fprintf(&b, "…(%d more bytes)", len(s)-i)
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < utf8.RuneSelf && unicode.IsControl(r):
			b.WriteString(asciiEscape(r))
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
		n++
	}
	return b.String()
}

// asciiEscape is the escape of an ASCII control character.
func asciiEscape(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	case '\r':
		return `\r`
	}
	return fmt.Sprintf(`\x%02x`, r)
}

// cleanLines is clean for a text of several lines (an error that joins
// several): each line is cleaned, the newlines kept, max runes in all.
func cleanLines(s string, max int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if max == 0 {
			lines = append(lines[:i], fmt.Sprintf("…(%d more lines)", len(lines)-i))
			break
		}
		lines[i] = clean(l, max)
		max -= min(max, utf8.RuneCountInString(l))
	}
	return strings.Join(lines, "\n")
}
