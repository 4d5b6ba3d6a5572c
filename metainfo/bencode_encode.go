package metainfo

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// ErrUnsupportedType is wrapped by the error Encode returns for a value it
// cannot encode.
var ErrUnsupportedType = errors.New("unsupported type")

// Encode bencodes v. It accepts int, int64, uint32, string, []byte, []any,
// []string and map[string]any (keys are written in sorted order), nested at
// most MaxDepth deep, so that anything Encode writes Decode reads back.
// Anything else, including nil, is an error wrapping ErrUnsupportedType.
func Encode(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case int:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case uint32:
		return appendInt(b, int64(v)), nil
	case string:
		return appendString(b, v)
	case []byte:
		return appendString(b, string(v))
	case []string:
		if depth >= MaxDepth {
			return nil, errTooDeep()
		}
		b = append(b, 'l')
		for _, s := range v {
			var err error
			if b, err = appendString(b, s); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case []any:
		if depth >= MaxDepth {
			return nil, errTooDeep()
		}
		b = append(b, 'l')
		for _, x := range v {
			var err error
			if b, err = appendValue(b, x, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case map[string]any:
		if depth >= MaxDepth {
			return nil, errTooDeep()
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // byte-wise, as BEP 3 requires
		b = append(b, 'd')
		for _, k := range keys {
			var err error
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			if b, err = appendValue(b, v[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	default:
		return nil, fmt.Errorf("metainfo: bencode: cannot encode %T: %w", v, ErrUnsupportedType)
	}
}

func errTooDeep() error {
	return fmt.Errorf("metainfo: bencode: cannot encode values nested deeper than %d levels", MaxDepth)
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, v, 10)
	return append(b, 'e')
}

func appendString(b []byte, s string) ([]byte, error) {
	if len(s) > MaxStringLength {
		return nil, fmt.Errorf("metainfo: bencode: cannot encode a string of %d bytes (limit %d)", len(s), MaxStringLength)
	}
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...), nil
}
