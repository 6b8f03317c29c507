// Package report writes the probe protocol: one JSON object per line on stdout,
// {"t": <CLOCK_REALTIME ns>, "ev": "<name>", ...}. Each line is one write(2), so a
// line is never torn by a signal or a concurrent goroutine.
package report

import (
	"encoding/json"
	"os"
	"strconv"
	"time"
)

// Emit prints one event. Field names "t" and "ev" are reserved.
func Emit(ev string, fields map[string]any) {
	t := time.Now().UnixNano()
	body, err := json.Marshal(fields)
	if err != nil || len(fields) == 0 {
		body = []byte("{}")
	}
	line := `{"t":` + strconv.FormatInt(t, 10) + `,"ev":` + strconv.Quote(ev)
	if len(body) > 2 {
		line += "," + string(body[1:len(body)-1])
	}
	os.Stdout.Write([]byte(line + "}\n"))
}
