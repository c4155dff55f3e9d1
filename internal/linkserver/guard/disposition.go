package guard

import (
	"strings"
)

// Attachment builds a Content-Disposition header that makes browsers download the file
// under name (RFC 6266): an ASCII filename for old clients, and filename* with the exact
// UTF-8 name percent-encoded (RFC 8187) for the rest, which prefer it.
func Attachment(name string) string {
	return `attachment; filename="` + asciiFallback(name) + `"; filename*=UTF-8''` + percentEncode(name)
}

// asciiFallback replaces what a quoted-string cannot carry safely: non-ASCII and control
// characters become "_", and quotes and backslashes are escaped.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r >= 0x7f:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// percentEncode keeps RFC 8187's attr-char and percent-encodes every other byte.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
