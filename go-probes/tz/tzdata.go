//go:build tzdata

package main

// The go-tzdata flavour embeds Go's copy of the tz database (about 450 KB): LoadLocation
// falls back to it when no zoneinfo source on disk has the zone.
import _ "time/tzdata"

const tzdataEmbedded = true
