//go:build race

package interop

// raceEnabled is true when the tests run with -race; the torrentfs binary is
// then built with -race too, so the real client is checked for data races.
const raceEnabled = true
