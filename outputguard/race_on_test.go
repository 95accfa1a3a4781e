//go:build race

package outputguard

const raceEnabled = true
