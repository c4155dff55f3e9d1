package audit

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
)

// AppendLine appends a's audit line, ending in a newline, to b. Hand-appended rather
// than marshalled: it runs for every answer, and a struct through encoding/json costs
// reflection and allocations the fast path does not otherwise spend
// (BenchmarkAppendLine). Link fields are left out for a request that named no known
// link, method for an answer given before a request line was read, range and user agent
// when not sent. Nothing of the path, and so of the token, is ever written.
func AppendLine(b []byte, replica string, a *answer.Answer) []byte {
	b = append(b, `{"time":"`...)
	b = a.Start.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","replica":`...)
	b = appendString(b, replica)
	if a.Link.Known() {
		b = append(b, `,"namespace":`...)
		b = appendString(b, a.Link.Namespace)
		b = append(b, `,"fileLink":`...)
		b = appendString(b, a.Link.Name)
		b = append(b, `,"id":`...)
		b = appendString(b, a.Link.ID)
		b = append(b, `,"file":`...)
		b = appendString(b, a.Link.File)
	}
	if a.Method != "" {
		b = append(b, `,"method":`...)
		b = appendString(b, a.Method)
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(a.Code), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, a.Written, 10)
	if a.Range != "" {
		b = append(b, `,"range":`...)
		b = appendString(b, a.Range)
	}
	b = append(b, `,"durationSeconds":`...)
	b = strconv.AppendFloat(b, a.Duration.Seconds(), 'f', -1, 64)
	if a.Client.IsValid() {
		b = append(b, `,"client":"`...)
		b = a.Client.AppendTo(b)
		b = append(b, '"')
	}
	if a.UserAgent != "" {
		b = append(b, `,"userAgent":`...)
		b = appendString(b, a.UserAgent)
	}
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string. A client writes the user agent and the
// range: every byte that could end the string or the line is escaped, and bytes that
// are not UTF-8 become U+FFFD, as encoding/json does, so every line parses.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\t':
				b = append(b, `\t`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 end a line for JavaScript readers of the log.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"
