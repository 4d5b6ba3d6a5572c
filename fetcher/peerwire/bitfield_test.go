package peerwire

import (
	"errors"
	"testing"
)

func TestBits(t *testing.T) {
	b := NewBitfield(11)
	if len(b) != 2 || b.Len() != 16 || b.Count() != 0 {
		t.Fatalf("NewBitfield(11) = %x, Len %d", []byte(b), b.Len())
	}
	for _, i := range []int{0, 7, 8, 10} {
		b.Set(i)
	}
	if string(b) != "\x81\xa0" {
		t.Fatalf("bits 0,7,8,10 = %x, want 81a0 (high bit first)", []byte(b))
	}
	if b.Count() != 4 || !b.Has(0) || !b.Has(10) || b.Has(1) || b.Has(9) {
		t.Fatalf("Has/Count wrong: %x", []byte(b))
	}
	// Out of range: never panics.
	for _, i := range []int{-1, 16, 1 << 30} {
		b.Set(i)
		b.Clear(i)
		if b.Has(i) {
			t.Fatalf("Has(%d) true", i)
		}
	}
	b.Clear(7)
	if b.Has(7) || b.Count() != 3 {
		t.Fatal("Clear failed")
	}
	c := b.Clone()
	c.Set(1)
	if b.Has(1) {
		t.Fatal("Clone shares memory")
	}
	if err := ValidateBitfield(b, 11); err != nil {
		t.Fatal(err)
	}
	if NewBitfield(-3) == nil || len(NewBitfield(0)) != 0 {
		t.Fatal("NewBitfield of <= 0 pieces")
	}
}

func TestSetAll(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 100} {
		b := NewBitfield(n)
		b.SetAll(n)
		if b.Count() != n {
			t.Fatalf("SetAll(%d): count %d", n, b.Count())
		}
		if err := ValidateBitfield(b, n); err != nil {
			t.Fatalf("SetAll(%d): %v", n, err)
		}
	}
	b := NewBitfield(8)
	b.SetAll(1000) // clamped
	if b.Count() != 8 {
		t.Fatal("SetAll beyond size")
	}
}

func TestValidateBitfield(t *testing.T) {
	for _, tc := range []struct {
		b   string
		n   int
		bad bool
	}{
		{"", 0, false},
		{"\xff", 8, false},
		{"\xff\x80", 9, false},
		{"\xff\xc0", 9, true}, // spare bit
		{"\xff\x01", 15, true},
		{"\xff\x00", 8, true}, // too long
		{"\xff", 9, true},     // too short
		{"\x00\x00\x00", 9, true},
		{"\xe0", 3, false},
		{"\xf0", 3, true},
		{"", -1, true},
	} {
		err := ValidateBitfield([]byte(tc.b), tc.n)
		if (err != nil) != tc.bad {
			t.Errorf("%x for %d pieces: %v", tc.b, tc.n, err)
		}
		if err != nil && (!errors.Is(err, ErrBadBitfield) || !IsProtocolError(err)) {
			t.Errorf("error %v does not wrap ErrBadBitfield", err)
		}
	}
}
