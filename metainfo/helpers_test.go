package metainfo

import (
	"strings"
	"testing"
)

func mustEncode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePieces returns a pieces string with the right number of (made-up)
// hashes for total bytes in pieces of pl.
func fakePieces(total, pl int64) string {
	n := (total + pl - 1) / pl
	var b strings.Builder
	for i := range n {
		h := [20]byte{byte(i), byte(i >> 8), 0xAA}
		b.Write(h[:])
	}
	return b.String()
}

// multiInfo makes a multi-file info dictionary with files named by their
// path (components split on "/") and lengths.
func multiInfo(name string, pl int64, files ...any) map[string]any {
	var list []any
	var total int64
	for i := 0; i < len(files); i += 2 {
		p := strings.Split(files[i].(string), "/")
		n := int64(files[i+1].(int))
		list = append(list, map[string]any{"length": n, "path": p})
		total += n
	}
	return map[string]any{
		"name":         name,
		"piece length": pl,
		"pieces":       fakePieces(total, pl),
		"files":        list,
	}
}

func singleInfo(name string, pl, length int64) map[string]any {
	return map[string]any{
		"name":         name,
		"piece length": pl,
		"pieces":       fakePieces(length, pl),
		"length":       length,
	}
}

func torrentWith(t testing.TB, info map[string]any, extra map[string]any) []byte {
	t.Helper()
	top := map[string]any{"info": info}
	for k, v := range extra {
		top[k] = v
	}
	return mustEncode(t, top)
}
