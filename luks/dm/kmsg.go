package dm

import (
	"bytes"
	"strings"
)

// The kernel explains why it refused a table only in its log, as lines like
// "device-mapper: table: 253:0: crypt: Error allocating crypto tfm
// (-ENOENT)". CreateCrypt reads the lines logged during a failed table load
// from /dev/kmsg and puts them in its error.

// kmsgText returns the message of one /dev/kmsg record,
// "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE\n" followed by optional " KEY=VALUE"
// lines, or "" if b is not such a record.
func kmsgText(b []byte) string {
	_, msg, ok := bytes.Cut(b, []byte(";"))
	if !ok {
		return ""
	}
	if i := bytes.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return string(msg)
}

// maxKernelLines bounds how many log lines go into an error.
const maxKernelLines = 4

// dmReasons picks from kernel log messages the device-mapper ones about the
// device dev ("MAJOR:MINOR"), or all device-mapper ones if none names it,
// with the "device-mapper: " prefix dropped.
func dmReasons(msgs []string, dev string) []string {
	var all, ours []string
	for _, m := range msgs {
		rest, ok := strings.CutPrefix(m, "device-mapper: ")
		if !ok {
			continue
		}
		all = append(all, rest)
		if strings.Contains(rest, " "+dev+": ") {
			ours = append(ours, rest)
		}
	}
	if len(ours) == 0 {
		ours = all
	}
	if len(ours) > maxKernelLines {
		ours = ours[len(ours)-maxKernelLines:]
	}
	return ours
}
