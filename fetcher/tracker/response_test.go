package tracker

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/torrentfs/torrentfs/metainfo"
)

func bencode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := metainfo.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact4(peers ...string) string {
	var b []byte
	for _, p := range peers {
		ap := netip.MustParseAddrPort(p)
		a := ap.Addr().As4()
		b = append(append(b, a[:]...), byte(ap.Port()>>8), byte(ap.Port()))
	}
	return string(b)
}

func compact6(peers ...string) string {
	var b []byte
	for _, p := range peers {
		ap := netip.MustParseAddrPort(p)
		a := ap.Addr().As16()
		b = append(append(b, a[:]...), byte(ap.Port()>>8), byte(ap.Port()))
	}
	return string(b)
}

func addrs(ss ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range ss {
		out = append(out, netip.MustParseAddrPort(s))
	}
	return out
}

func TestParseCompact(t *testing.T) {
	body := bencode(t, map[string]any{
		"interval":        1800,
		"min interval":    60,
		"complete":        5,
		"incomplete":      7,
		"tracker id":      "abc",
		"warning message": "be nice",
		"peers":           compact4("10.0.0.1:6881", "192.168.1.2:65535", "10.0.0.3:0", "10.0.0.1:6881", "0.0.0.0:80"),
		"peers6":          compact6("[2001:db8::1]:51413", "[::ffff:10.0.0.9]:7000", "[::]:1"),
	})
	r, err := ParseAnnounceResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := &AnnounceResponse{
		Interval:    30 * time.Minute,
		MinInterval: time.Minute,
		Peers:       addrs("10.0.0.1:6881", "192.168.1.2:65535", "[2001:db8::1]:51413", "10.0.0.9:7000"),
		Seeders:     5, Leechers: 7, TrackerID: "abc", Warning: "be nice",
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestParseDictPeers(t *testing.T) {
	body := bencode(t, map[string]any{
		"interval": 900,
		"peers": []any{
			map[string]any{"ip": "10.1.2.3", "port": 6881, "peer id": "-XX0001-000000000000"},
			map[string]any{"ip": "2001:db8::7", "port": 1},
			map[string]any{"ip": "tracker.example.com", "port": 6881}, // host name: skipped
			map[string]any{"ip": "10.1.2.4", "port": 0},               // port 0
			map[string]any{"ip": "10.1.2.5", "port": 70000},           // out of range
			map[string]any{"ip": "10.1.2.6", "port": -1},
			map[string]any{"ip": "10.1.2.7"},                   // no port
			map[string]any{"port": 6881},                       // no ip
			map[string]any{"ip": 17, "port": 6881},             // ip wrong type
			map[string]any{"ip": "10.1.2.8", "port": "6881"},   // port wrong type
			map[string]any{"ip": "fe80::1%eth0", "port": 6881}, // zone
			"not a dict",
			int64(5),
			map[string]any{"ip": "::ffff:10.1.2.9", "port": 80},
		},
	})
	r, err := ParseAnnounceResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if want := addrs("10.1.2.3:6881", "[2001:db8::7]:1", "10.1.2.9:80"); !reflect.DeepEqual(r.Peers, want) {
		t.Fatalf("got %v, want %v", r.Peers, want)
	}
	if r.Interval != 15*time.Minute {
		t.Fatalf("interval %v", r.Interval)
	}
}

func TestParseIntervals(t *testing.T) {
	for _, tc := range []struct {
		d           map[string]any
		interval    time.Duration
		minInterval time.Duration
	}{
		{map[string]any{}, DefaultInterval, 0},
		{map[string]any{"interval": 0}, DefaultInterval, 0},
		{map[string]any{"interval": -30}, DefaultInterval, 0},
		{map[string]any{"interval": 1}, MinAllowedInterval, 0},
		{map[string]any{"interval": 42}, 42 * time.Second, 0},
		{map[string]any{"interval": int64(1) << 62}, MaxAllowedInterval, 0},
		{map[string]any{"interval": int64(-1) << 63}, DefaultInterval, 0},
		{map[string]any{"interval": 100, "min interval": 0}, 100 * time.Second, 0},
		{map[string]any{"interval": 100, "min interval": -1}, 100 * time.Second, 0},
		{map[string]any{"interval": 100, "min interval": 2}, 100 * time.Second, MinAllowedInterval},
		{map[string]any{"interval": 100, "min interval": int64(7) << 60}, 100 * time.Second, MaxAllowedInterval},
	} {
		tc.d["peers"] = ""
		r, err := ParseAnnounceResponse(bencode(t, tc.d))
		if err != nil {
			t.Fatalf("%v: %v", tc.d, err)
		}
		if r.Interval != tc.interval || r.MinInterval != tc.minInterval {
			t.Errorf("%v: got %v/%v, want %v/%v", tc.d, r.Interval, r.MinInterval, tc.interval, tc.minInterval)
		}
	}
}

func TestParseCounts(t *testing.T) {
	r, err := ParseAnnounceResponse(bencode(t, map[string]any{"complete": -4, "incomplete": int64(1) << 40}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seeders != 0 || r.Leechers != 1<<31-1 || r.Peers != nil {
		t.Fatalf("got %+v", r)
	}
}

func TestParseFailure(t *testing.T) {
	// The failure reason wins over anything else in the reply.
	_, err := ParseAnnounceResponse(bencode(t, map[string]any{"failure reason": "unregistered torrent", "interval": "junk"}))
	var fe *FailureError
	if !errors.As(err, &fe) || fe.Reason != "unregistered torrent" {
		t.Fatalf("got %v", err)
	}
	if err.Error() != "tracker: tracker said: unregistered torrent" {
		t.Fatalf("text %q", err)
	}
}

func TestParseTrailingNewline(t *testing.T) {
	body := append(bencode(t, map[string]any{"interval": 60, "peers": compact4("1.2.3.4:5")}), "\r\n"...)
	r, err := ParseAnnounceResponse(body)
	if err != nil || len(r.Peers) != 1 {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, body, mention string
	}{
		{"empty", "", "bencode"},
		{"html", "<html>502 Bad Gateway</html>", "bencode"},
		{"truncated", "d8:intervali60e5:peers6:ab", "bencode"},
		{"trailing garbage", "d8:intervali60ee<html>", "trailing"},
		{"list", "li1ee", "a list, not a dictionary"},
		{"integer", "i3e", "an integer, not a dictionary"},
		{"string", "3:abc", "a string, not a dictionary"},
		{"failure not string", "d14:failure reasoni3ee", `"failure reason" is an integer`},
		{"interval string", "d8:interval2:60e", `"interval" is a string`},
		{"min interval list", "d12:min intervallee", `"min interval" is a list`},
		{"complete string", "d8:complete1:xe", `"complete" is a string`},
		{"incomplete dict", "d10:incompletedee", `"incomplete" is a dictionary`},
		{"warning int", "d15:warning messagei1ee", `"warning message" is an integer`},
		{"tracker id int", "d10:tracker idi1ee", `"tracker id" is an integer`},
		{"peers int", "d5:peersi1ee", `"peers" is an integer`},
		{"peers dict", "d5:peersdee", `"peers" is a dictionary`},
		{"peers bad length", "d5:peers7:abcdefge", "7 bytes, not a multiple of 6"},
		{"peers6 bad length", "d6:peers65:abcdee", "5 bytes, not a multiple of 18"},
		{"peers6 list", "d6:peers6lee", `"peers6" is a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAnnounceResponse([]byte(tc.body))
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("got %v, want ErrBadResponse", err)
			}
			if !strings.HasPrefix(err.Error(), "tracker: ") || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	var se *metainfo.SyntaxError
	if _, err := ParseAnnounceResponse([]byte("d8:interval")); !errors.As(err, &se) {
		t.Fatalf("bencode errors should keep the *metainfo.SyntaxError, got %v", err)
	}
}
