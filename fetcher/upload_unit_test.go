package fetcher

import (
	"testing"

	"github.com/torrentfs/torrentfs/fetcher/peerwire"
)

func TestRunLen(t *testing.T) {
	req := func(i, b, n uint32) peerwire.Message {
		return peerwire.Message{ID: peerwire.Request, Index: i, Begin: b, Length: n}
	}
	const k = peerwire.BlockSize
	cases := []struct {
		ups  []peerwire.Message
		want int
	}{
		{[]peerwire.Message{req(3, 0, k)}, 1},
		{[]peerwire.Message{req(3, 0, k), req(3, k, k), req(3, 2*k, k)}, 3},
		{[]peerwire.Message{req(3, 0, k), req(3, k, k), req(4, 2*k, k)}, 2},   // another piece
		{[]peerwire.Message{req(3, 0, k), req(3, 2*k, k), req(3, 3*k, k)}, 1}, // a gap
		{[]peerwire.Message{req(3, k, k), req(3, 0, k)}, 1},                   // backwards
		{[]peerwire.Message{req(3, 0, 100), req(3, 100, k)}, 2},               // short blocks still join
	}
	for i, c := range cases {
		if got := runLen(c.ups); got != c.want {
			t.Errorf("case %d: runLen = %d, want %d", i, got, c.want)
		}
	}
}
