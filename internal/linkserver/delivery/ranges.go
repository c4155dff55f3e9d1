package delivery

import (
	"net/textproto"
	"strconv"
	"strings"
)

// singleRange is the one range of header a 206 of http.ServeContent sends for a body of
// size bytes, first and last byte included; false when header asks for several, whose
// answer is multipart. It follows ServeContent's parser: ranges starting past the end
// are dropped, a suffix longer than the body is the whole body, an end past the body is
// its last byte. It is asked only once ServeContent has answered 206, so header is known
// to be valid and satisfiable; TestSingleRangeAgreesWithServeContent holds the two
// together.
func singleRange(header string, size int64) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found {
		return 0, 0, false
	}
	n := 0
	for r := range strings.SplitSeq(spec, ",") {
		r = textproto.TrimString(r)
		if r == "" {
			continue
		}
		from, to, _ := strings.Cut(r, "-")
		from, to = textproto.TrimString(from), textproto.TrimString(to)
		var s, e int64
		if from == "" {
			suffix, err := strconv.ParseInt(to, 10, 64)
			if err != nil {
				return 0, 0, false
			}
			s, e = size-min(suffix, size), size-1
		} else {
			var err error
			if s, err = strconv.ParseInt(from, 10, 64); err != nil {
				return 0, 0, false
			}
			if s >= size {
				continue // no overlap: ServeContent drops it
			}
			e = size - 1
			if to != "" {
				if e, err = strconv.ParseInt(to, 10, 64); err != nil {
					return 0, 0, false
				}
				e = min(e, size-1)
			}
		}
		if n++; n > 1 {
			return 0, 0, false
		}
		first, last = s, e
	}
	// A suffix of zero bytes is a range too, of no bytes: first is then past last.
	return first, last, n == 1
}
