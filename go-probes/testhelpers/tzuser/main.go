// tzuser stands in for a user's own Go program in tests of the time-zone scenarios with
// --binary and --image: it prints nothing of the probe protocol, formats the current time
// in time.Local once (which loads the zone: TZ, else /etc/localtime, else UTC) and exits.
package main

import (
	"os"
	"time"
)

func main() {
	os.Stdout.WriteString(time.Now().Format("2006-01-02 15:04:05 MST -0700") + "\n")
}
