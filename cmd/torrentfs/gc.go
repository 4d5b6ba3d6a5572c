package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the GOGC that mount and demo run with unless GOGC is set.
// Their heap is mostly piece buffers, which hold no pointers and so cost
// the collector almost nothing to mark; the default of 100 lets the heap
// grow to twice the live set between collections, which here is tens of
// MiB of garbage buffers held as RSS for no gain.
const gcPercent = 25

// tuneGC applies gcPercent unless the user chose a GOGC of their own.
func tuneGC() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
}
