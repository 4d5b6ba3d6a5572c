package metainfo

import (
	"fmt"
	"math"
)

// Limits that bound what an untrusted input can make the decoder do.
const (
	// MaxDepth is the deepest nesting of lists and dictionaries Decode and
	// Encode accept. Real torrents nest about four levels.
	MaxDepth = 64
	// MaxStringLength caps a single byte string, on top of the rule that a
	// string can never be longer than the input left after its length.
	MaxStringLength = 128 << 20
)

// SyntaxError describes malformed bencode. Every error Decode and
// DecodePrefix return is a *SyntaxError.
type SyntaxError struct {
	Offset int64  // byte offset in the input where the problem was found
	Msg    string // what is wrong, e.g. "integer has a leading zero"
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("metainfo: bencode: at byte %d: %s", e.Offset, e.Msg)
}

// Decode decodes data, which must hold exactly one bencoded value, into
// int64, string, []any or map[string]any values.
//
// The decoder is strict: integers with leading zeros, "-0", empty integers,
// int64 overflow, string lengths with leading zeros, non-string or duplicate
// dictionary keys, truncated input and trailing bytes are all rejected.
// Dictionary keys that are not in sorted order are accepted, because real
// torrents sometimes have them; anything hashed (the info dictionary) is
// hashed over its raw bytes, so this never changes an info hash.
func Decode(data []byte) (any, error) {
	v, n, err := DecodePrefix(data)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, &SyntaxError{Offset: int64(n), Msg: "trailing data after the value"}
	}
	return v, nil
}

// DecodePrefix decodes the one bencoded value at the start of data and
// returns it with the number of bytes it took. Bytes after it are not
// examined (BEP 9 metadata messages are a dictionary followed by raw data).
func DecodePrefix(data []byte) (v any, n int, err error) {
	d := decoder{data: data}
	v, err = d.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, d.pos, nil
}

// span is the half-open byte range [start, end) of a value in the input.
type span struct{ start, end int }

// decodeWithSpans is Decode that also reports, when the value is a
// dictionary, the raw byte span of each of its values. Parse uses it to find
// the exact bytes of "info".
func decodeWithSpans(data []byte) (any, map[string]span, error) {
	d := decoder{data: data, spans: map[string]span{}}
	v, err := d.value(0)
	if err != nil {
		return nil, nil, err
	}
	if d.pos != len(data) {
		return nil, nil, &SyntaxError{Offset: int64(d.pos), Msg: "trailing data after the value"}
	}
	return v, d.spans, nil
}

// decoder reads one value from data starting at pos.
type decoder struct {
	data []byte
	pos  int
	// spans, if not nil, receives the value spans of the outermost
	// dictionary (depth 1) only.
	spans map[string]span
}

func (d *decoder) errAt(off int, format string, args ...any) error {
	return &SyntaxError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) eof(where string) error {
	return d.errAt(len(d.data), "unexpected end of input in %s", where)
}

// value decodes the value at d.pos; depth is the number of containers
// around it.
func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.eof("value")
	}
	switch c := d.data[d.pos]; {
	case c == 'i':
		return d.int()
	case c >= '0' && c <= '9':
		return d.string()
	case c == 'l' || c == 'd':
		if depth >= MaxDepth {
			return nil, d.errAt(d.pos, "nesting deeper than %d levels", MaxDepth)
		}
		if c == 'l' {
			return d.list(depth + 1)
		}
		return d.dict(depth + 1)
	default:
		return nil, d.errAt(d.pos, "unexpected byte %q at the start of a value", c)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// int decodes "i<digits>e" with d.pos at 'i'.
func (d *decoder) int() (any, error) {
	start := d.pos
	d.pos++ // 'i'
	neg := false
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		neg = true
		d.pos++
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -9223372036854775808 is representable
	}
	digits := d.pos
	var u uint64
	for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
		if d.pos > digits && d.data[digits] == '0' {
			return nil, d.errAt(digits, "integer has a leading zero")
		}
		x := uint64(d.data[d.pos] - '0')
		if u > (limit-x)/10 {
			return nil, d.errAt(digits, "integer overflows int64")
		}
		u = u*10 + x
		d.pos++
	}
	if d.pos >= len(d.data) {
		return nil, d.eof("integer")
	}
	if d.pos == digits {
		return nil, d.errAt(d.pos, "integer has no digits")
	}
	if neg && u == 0 {
		return nil, d.errAt(start+1, "integer is negative zero")
	}
	if c := d.data[d.pos]; c != 'e' {
		return nil, d.errAt(d.pos, "unexpected byte %q in integer", c)
	}
	d.pos++
	if neg {
		return int64(-u), nil // two's complement gives MinInt64 for 1<<63
	}
	return int64(u), nil
}

// string decodes "<length>:<bytes>" with d.pos at the first length digit.
func (d *decoder) string() (string, error) {
	start := d.pos
	var n int64
	for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
		if d.pos > start && d.data[start] == '0' {
			return "", d.errAt(start, "string length has a leading zero")
		}
		n = n*10 + int64(d.data[d.pos]-'0')
		if n > MaxStringLength {
			return "", d.errAt(start, "string length exceeds the limit of %d bytes", MaxStringLength)
		}
		d.pos++
	}
	if d.pos >= len(d.data) {
		return "", d.eof("string length")
	}
	if c := d.data[d.pos]; c != ':' {
		return "", d.errAt(d.pos, "unexpected byte %q in string length", c)
	}
	d.pos++ // ':'
	if rem := int64(len(d.data) - d.pos); n > rem {
		return "", d.errAt(start, "string length %d exceeds the %d bytes of input left", n, rem)
	}
	s := string(d.data[d.pos : d.pos+int(n)])
	d.pos += int(n)
	return s, nil
}

// list decodes "l<values>e" with d.pos at 'l'.
func (d *decoder) list(depth int) (any, error) {
	d.pos++ // 'l'
	l := []any{}
	for {
		if d.pos >= len(d.data) {
			return nil, d.eof("list")
		}
		if d.data[d.pos] == 'e' {
			d.pos++
			return l, nil
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
}

// dict decodes "d<key><value>...e" with d.pos at 'd'.
func (d *decoder) dict(depth int) (any, error) {
	d.pos++ // 'd'
	m := map[string]any{}
	for {
		if d.pos >= len(d.data) {
			return nil, d.eof("dictionary")
		}
		c := d.data[d.pos]
		if c == 'e' {
			d.pos++
			return m, nil
		}
		keyStart := d.pos
		if !isDigit(c) {
			return nil, d.errAt(keyStart, "dictionary key is not a string")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, d.errAt(keyStart, "duplicate dictionary key %q", k)
		}
		valStart := d.pos
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		if depth == 1 && d.spans != nil {
			d.spans[k] = span{valStart, d.pos}
		}
	}
}
