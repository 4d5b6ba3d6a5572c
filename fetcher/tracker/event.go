package tracker

import "strconv"

// Event is the announce event.
type Event int

// Announce events. None is a regular, periodic announce.
const (
	None Event = iota
	Started
	Completed
	Stopped
)

// String returns the event's wire value: "", "started", "completed" or
// "stopped"; an undefined event gives "Event(n)".
func (e Event) String() string {
	switch e {
	case None:
		return ""
	case Started:
		return "started"
	case Completed:
		return "completed"
	case Stopped:
		return "stopped"
	}
	return "Event(" + strconv.Itoa(int(e)) + ")"
}

func (e Event) valid() bool { return e >= None && e <= Stopped }
