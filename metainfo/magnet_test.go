package metainfo

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testHex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"

func TestParseMagnet(t *testing.T) {
	want, err := ParseInfoHash(testHex)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMagnet("magnet:?xt=urn:btih:" + strings.ToUpper(testHex) +
		"&dn=Some+Name%21&tr=http%3A%2F%2Ft%2Fa&tr=udp://u:1&tr=http%3A%2F%2Ft%2Fa&tr=&ws=http://w/&x.pe=1.2.3.4:6881&x.pe=[::1]:5")
	if err != nil {
		t.Fatal(err)
	}
	exp := &Magnet{
		InfoHash:    want,
		DisplayName: "Some Name!",
		Trackers:    []string{"http://t/a", "udp://u:1"},
		WebSeeds:    []string{"http://w/"},
		Peers:       []string{"1.2.3.4:6881", "[::1]:5"},
	}
	if !reflect.DeepEqual(m, exp) {
		t.Errorf("got %+v\nwant %+v", m, exp)
	}
	back, err := ParseMagnet(m.String())
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("String() %q reparses to %+v, %v", m.String(), back, err)
	}
	if m.InfoHash.String() != testHex {
		t.Errorf("hash %s", m.InfoHash)
	}
}

func TestParseMagnetBase32(t *testing.T) {
	// Base32 of the same hash, upper and lower case.
	h, _ := ParseInfoHash(testHex)
	b32 := "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
	for _, s := range []string{b32, strings.ToLower(b32)} {
		m, err := ParseMagnet("magnet:?xt=urn:btih:" + s)
		if err != nil || m.InfoHash != h {
			t.Errorf("%s: %v, %v", s, m, err)
		}
	}
	// The same hash twice (hybrid links repeat it) is fine.
	if _, err := ParseMagnet("magnet:?xt=urn:btih:" + testHex + "&xt=urn:btih:" + b32); err != nil {
		t.Error(err)
	}
}

func TestParseMagnetErrors(t *testing.T) {
	for in, want := range map[string]string{
		"http://x/?xt=urn:btih:" + testHex:                                           `metainfo: magnet: scheme is "http", not magnet`,
		"magnet:?dn=x":                                                               "metainfo: magnet: no xt=urn:btih: info hash",
		"magnet:?xt=urn:btmh:1220abcd":                                               "metainfo: magnet: only a BitTorrent v2 hash",
		"magnet:?xt=urn:btih:abc":                                                    `metainfo: magnet: xt: metainfo: info hash "abc" has 3 characters, want 40 (hex) or 32 (base32)`,
		"magnet:?xt=urn:btih:" + strings.Repeat("z", 40):                             "is not hex",
		"magnet:?xt=urn:btih:" + strings.Repeat("1", 32):                             "is not base32",
		"magnet:?xt=urn:btih:" + testHex + "&xt=urn:btih:" + strings.Repeat("0", 40): "two different btih",
		"magnet:?xt=%zz":                                                             "metainfo: magnet: query",
		"magnet:?xt=urn:btih:" + testHex + "&dn=%":                                   "metainfo: magnet: query",
	} {
		_, err := ParseMagnet(in)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMagnet(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestMetaInfoMagnet(t *testing.T) {
	m, err := Parse(torrentWith(t, singleInfo("file.iso", 16384, 100), map[string]any{
		"announce-list": []any{[]any{"http://a/"}, []any{"udp://b:1"}},
		"url-list":      "http://w/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	mg := m.Magnet()
	if mg.InfoHash != m.InfoHash || mg.DisplayName != "file.iso" ||
		!reflect.DeepEqual(mg.Trackers, []string{"http://a/", "udp://b:1"}) || !reflect.DeepEqual(mg.WebSeeds, []string{"http://w/"}) {
		t.Errorf("got %+v", mg)
	}
}

func FuzzParseMagnet(f *testing.F) {
	f.Add("magnet:?xt=urn:btih:" + testHex + "&dn=x&tr=udp://t:1&ws=http://w/&x.pe=1.2.3.4:1")
	f.Add("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMagnet(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		back, err := ParseMagnet(m.String())
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", m.String(), err)
		}
		if back.InfoHash != m.InfoHash || back.DisplayName != m.DisplayName ||
			!reflect.DeepEqual(back.Trackers, m.Trackers) || !reflect.DeepEqual(back.WebSeeds, m.WebSeeds) || !reflect.DeepEqual(back.Peers, m.Peers) {
			t.Fatalf("round trip: %+v != %+v", back, m)
		}
	})
}

func TestMagnetMetaInfoChecksTheInfoHash(t *testing.T) {
	b := []byte("some file contents")
	_, mi, err := Create(CreateOptions{Name: "x", PieceLength: 16 << 10, Announce: "http://127.0.0.1:1/announce", SingleFile: true},
		[]CreateFile{{Path: []string{"x"}, Length: int64(len(b)), Data: bytes.NewReader(b)}})
	if err != nil {
		t.Fatal(err)
	}
	m := mi.Magnet()
	got, err := m.MetaInfo(mi.InfoBytes)
	if err != nil {
		t.Fatal(err)
	}
	if got.InfoHash != mi.InfoHash || got.Info.Name != "x" || got.Announce != "http://127.0.0.1:1/announce" {
		t.Fatalf("MetaInfo = %+v", got)
	}
	other := append([]byte(nil), mi.InfoBytes...)
	other[len(other)-2] ^= 1
	if _, err := m.MetaInfo(other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("info that does not hash to the magnet's info hash: err %v, want ErrInvalid", err)
	}
}
