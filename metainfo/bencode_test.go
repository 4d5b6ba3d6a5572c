package metainfo

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		in     string
		offset int64
		msg    string // substring of the message
	}{
		{"", 0, "end of input"},
		{"i03e", 1, "leading zero"},
		{"i-03e", 2, "leading zero"},
		{"i00e", 1, "leading zero"},
		{"i-0e", 1, "negative zero"},
		{"i-e", 2, "no digits"},
		{"ie", 1, "no digits"},
		{"i", 1, "end of input"},
		{"i12", 3, "end of input"},
		{"i1x", 2, "unexpected byte 'x' in integer"},
		{"i+1e", 1, "no digits"},
		{"i9223372036854775808e", 1, "overflows"},
		{"i-9223372036854775809e", 2, "overflows"},
		{"i99999999999999999999999e", 1, "overflows"},
		{"01:a", 0, "leading zero"},
		{"00:", 0, "leading zero"},
		{"5:abc", 0, "exceeds the 3 bytes of input left"},
		{"999999999999:abc", 0, "exceeds the limit"},
		{"3", 1, "end of input"},
		{"3x", 1, "unexpected byte 'x' in string length"},
		{"-1:a", 0, "unexpected byte '-'"},
		{"x", 0, "unexpected byte 'x'"},
		{"e", 0, "unexpected byte 'e'"},
		{"l", 1, "end of input in list"},
		{"li1e", 4, "end of input in list"},
		{"d", 1, "end of input in dictionary"},
		{"d1:a", 4, "end of input in value"},
		{"di1ei2ee", 1, "key is not a string"},
		{"dlee1:ae", 1, "key is not a string"},
		{"d1:ai1e1:ai2ee", 7, `duplicate dictionary key "a"`},
		{"d1:bi1e1:ai2e1:bi3ee", 13, `duplicate dictionary key "b"`},
		{"i1ei2e", 3, "trailing data"},
		{"le ", 2, "trailing data"},
		{"0:0:", 2, "trailing data"},
		{strings.Repeat("l", MaxDepth+1) + strings.Repeat("e", MaxDepth+1), MaxDepth, "nesting deeper"},
		{"d1:a" + strings.Repeat("d1:a", MaxDepth) + "i1e" + strings.Repeat("e", MaxDepth+1), 4 * MaxDepth, "nesting deeper"},
	} {
		v, err := Decode([]byte(tc.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Decode(%.30q) = %v, %v; want a *SyntaxError", tc.in, v, err)
			continue
		}
		if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Decode(%.30q): offset %d %q; want offset %d and %q", tc.in, se.Offset, se.Msg, tc.offset, tc.msg)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Decode([]byte("d1:a01:be"))
	if got, want := err.Error(), "metainfo: bencode: at byte 4: string length has a leading zero"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"i0e", int64(0)},
		{"i-1e", int64(-1)},
		{"i42e", int64(42)},
		{"i9223372036854775807e", int64(math.MaxInt64)},
		{"i-9223372036854775808e", int64(math.MinInt64)},
		{"0:", ""},
		{"3:a\x00\xff", "a\x00\xff"},
		{"le", []any{}},
		{"de", map[string]any{}},
		{"li1e3:abclee", []any{int64(1), "abc", []any{}}},
		{"d1:ai1e1:bl1:xee", map[string]any{"a": int64(1), "b": []any{"x"}}},
		// Unsorted keys are accepted (documented choice).
		{"d1:bi2e1:ai1ee", map[string]any{"a": int64(1), "b": int64(2)}},
		{strings.Repeat("l", MaxDepth) + strings.Repeat("e", MaxDepth), nested(MaxDepth)},
	} {
		got, err := Decode([]byte(tc.in))
		if err != nil {
			t.Errorf("Decode(%.30q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%.30q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func nested(depth int) any {
	var v any = []any{}
	for range depth - 1 {
		v = []any{v}
	}
	return v
}

func TestDecodePrefix(t *testing.T) {
	in := []byte("d8:msg_typei1e5:piecei0eeRAW PIECE BYTES")
	v, n, err := DecodePrefix(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(in[n:]) != "RAW PIECE BYTES" {
		t.Errorf("n = %d leaves %q", n, in[n:])
	}
	if d := v.(map[string]any); d["msg_type"] != int64(1) || d["piece"] != int64(0) {
		t.Errorf("got %v", d)
	}
	if _, _, err := DecodePrefix([]byte("d8:msg_type")); err == nil {
		t.Error("truncated prefix accepted")
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{0, "i0e"},
		{-7, "i-7e"},
		{int64(math.MinInt64), "i-9223372036854775808e"},
		{uint32(math.MaxUint32), "i4294967295e"},
		{"", "0:"},
		{"spam", "4:spam"},
		{[]byte{0, 1}, "2:\x00\x01"},
		{[]string{"a", "bc"}, "l1:a2:bce"},
		{[]string(nil), "le"},
		{[]any{1, "x", []any{}}, "li1e1:xlee"},
		{map[string]any{"b": 1, "a": "x", "": []string{}, "B": 2}, "d0:le1:Bi2e1:a1:x1:bi1ee"},
	} {
		got, err := Encode(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("Encode(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{nil, 1.5, true, uint64(1), []int{1}, map[string]int{}, []any{struct{}{}}, map[string]any{"a": nil}} {
		if _, err := Encode(bad); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("Encode(%#v) error %v; want ErrUnsupportedType", bad, err)
		}
	}
	// A cycle, or too deep a value, is an error rather than a stack overflow.
	cyc := map[string]any{}
	cyc["a"] = cyc
	if _, err := Encode(cyc); err == nil {
		t.Error("Encode of a cyclic map succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	v := map[string]any{
		"announce": "http://t/a",
		"info": map[string]any{
			"files":  []any{map[string]any{"length": int64(3), "path": []any{"a", "b"}}},
			"pieces": string(make([]byte, 20)),
			"neg":    int64(-5),
		},
		"list": []any{[]any{}, map[string]any{}, "", int64(0)},
	}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Errorf("round trip: got %#v", got)
	}
	b2, _ := Encode(got)
	if string(b2) != string(b) {
		t.Errorf("re-encoding differs:\n%q\n%q", b, b2)
	}
}

func TestDecodeWithSpans(t *testing.T) {
	in := "d1:zi9e4:infod1:xi1ee1:ali2eee"
	_, spans, err := decodeWithSpans([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"z": "i9e", "info": "d1:xi1ee", "a": "li2ee"} {
		if got := in[spans[k].start:spans[k].end]; got != want {
			t.Errorf("span of %q = %q, want %q", k, got, want)
		}
	}
	if len(spans) != 3 {
		t.Errorf("recorded %d spans, want 3 (outer dictionary only)", len(spans))
	}
}

func TestDecodeHugeClaimedLength(t *testing.T) {
	// A length claim far beyond the input must fail before allocating.
	in := []byte("l134217728:x")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 {
		if _, err := Decode(in); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("%d bytes allocated decoding 20 bogus length claims", n)
	}
}
