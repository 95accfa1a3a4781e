//go:build !race

package lineartest

// RaceEnabled reports whether the race detector is on.
const RaceEnabled = false
