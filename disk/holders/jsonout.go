package holders

import (
	"strconv"
	"unicode/utf8"
)

// The report is written by hand in exactly the form encoding/json's
// indenting encoder gives (a test holds the two byte for byte): holders is
// a command people run while something is stuck, and encoding/json's
// reflection, run once per process, cost more than the whole /proc part of
// a scan.

// jsonWriter appends indented JSON to b.
type jsonWriter struct {
	b     []byte
	depth int
	// more says whether the innermost open object or array has an element.
	more []bool
}

func (w *jsonWriter) newline() {
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, "  "...)
	}
}

// open starts an object ('{') or an array ('[').
func (w *jsonWriter) open(c byte) {
	w.b = append(w.b, c)
	w.depth++
	w.more = append(w.more, false)
}

// close ends the innermost object or array with c.
func (w *jsonWriter) close(c byte) {
	w.depth--
	if w.more[len(w.more)-1] {
		w.newline()
	}
	w.more = w.more[:len(w.more)-1]
	w.b = append(w.b, c)
}

// elem starts the next element of an array or member of an object.
func (w *jsonWriter) elem() {
	if w.more[len(w.more)-1] {
		w.b = append(w.b, ',')
	}
	w.more[len(w.more)-1] = true
	w.newline()
}

func (w *jsonWriter) key(k string) {
	w.elem()
	w.str(k)
	w.b = append(w.b, ": "...)
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) string(k, v string) {
	w.key(k)
	w.str(v)
}

func (w *jsonWriter) dev(k string, d Dev) {
	w.key(k)
	w.devValue(d)
}

// list writes a slice as an array of n elements (null for a nil slice),
// each written by f.
func (w *jsonWriter) list(k string, isNil bool, n int, f func(i int)) {
	w.key(k)
	if isNil {
		w.b = append(w.b, "null"...)
		return
	}
	w.open('[')
	for i := range n {
		w.elem()
		f(i)
	}
	w.close(']')
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string, escaped as encoding/json escapes it: HTML
// characters, control characters, U+2028 and U+2029 as \u escapes, and
// each byte of invalid UTF-8 as U+FFFD.
func (w *jsonWriter) str(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			w.b = append(w.b, s[start:i]...)
			switch c {
			case '"', '\\':
				w.b = append(w.b, '\\', c)
			case '\b':
				w.b = append(w.b, `\b`...)
			case '\f':
				w.b = append(w.b, `\f`...)
			case '\n':
				w.b = append(w.b, `\n`...)
			case '\r':
				w.b = append(w.b, `\r`...)
			case '\t':
				w.b = append(w.b, `\t`...)
			default:
				w.b = append(w.b, `\u00`...)
				w.b = append(w.b, hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, `\u202`...)
			w.b = append(w.b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// appendReport appends r as encoding/json's indented encoder writes it,
// with the trailing newline.
func appendReport(b []byte, r Report) []byte {
	w := jsonWriter{b: b}
	w.open('{')
	w.string("target", r.Target)
	w.dev("device", r.Dev)
	w.string("name", r.Name)
	if r.DMName != "" {
		w.string("dm_name", r.DMName)
	}
	w.list("devices", r.Devices == nil, len(r.Devices), func(i int) { w.devValue(r.Devices[i]) })
	w.list("processes", r.Processes == nil, len(r.Processes), func(i int) { w.process(r.Processes[i]) })
	w.list("mounts", r.Mounts == nil, len(r.Mounts), func(i int) { w.mount(r.Mounts[i]) })
	w.list("swaps", r.Swaps == nil, len(r.Swaps), func(i int) {
		s := r.Swaps[i]
		w.open('{')
		w.string("path", s.Path)
		w.dev("device", s.Dev)
		w.close('}')
	})
	w.list("loops", r.Loops == nil, len(r.Loops), func(i int) {
		l := r.Loops[i]
		w.open('{')
		w.string("name", l.Name)
		w.dev("loop_device", l.Dev)
		w.string("backing_file", l.BackingFile)
		w.dev("device", l.On)
		w.close('}')
	})
	w.list("stacked", r.Stacked == nil, len(r.Stacked), func(i int) { w.stacked(r.Stacked[i]) })
	w.list("kernel", r.Kernel == nil, len(r.Kernel), func(i int) { w.str(r.Kernel[i]) })
	if len(r.Warnings) > 0 {
		w.list("warnings", false, len(r.Warnings), func(i int) { w.str(r.Warnings[i]) })
	}
	w.close('}')
	return append(w.b, '\n')
}

// devValue appends a device as an array element.
func (w *jsonWriter) devValue(d Dev) {
	w.b = append(w.b, '"')
	w.b = strconv.AppendUint(w.b, uint64(d.Major), 10)
	w.b = append(w.b, ':')
	w.b = strconv.AppendUint(w.b, uint64(d.Minor), 10)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) process(p Process) {
	w.open('{')
	w.int("pid", int64(p.PID))
	w.int("uid", int64(p.UID))
	w.string("user", p.User)
	w.string("command", p.Command)
	w.string("unit", p.Unit)
	w.uint("mount_ns", p.MountNS)
	w.uint("start_time", p.StartTime)
	w.list("holds", p.Holds == nil, len(p.Holds), func(i int) {
		h := p.Holds[i]
		w.open('{')
		w.string("kind", h.Kind)
		w.string("path", h.Path)
		if h.FD != 0 {
			w.int("fd", int64(h.FD))
		}
		w.dev("device", h.Dev)
		w.close('}')
	})
	w.close('}')
}

func (w *jsonWriter) mount(m Mount) {
	w.open('{')
	w.dev("device", m.Dev)
	if m.Submount {
		w.bool("submount", true)
	}
	if m.Under != (Dev{}) {
		w.dev("under", m.Under)
	}
	w.string("mount_point", m.MountPoint)
	w.string("fstype", m.FSType)
	w.string("source", m.Source)
	w.uint("mount_ns", m.Namespace)
	w.bool("current_ns", m.Initial)
	w.int("mount_id", int64(m.ID))
	w.list("pids", m.PIDs == nil, len(m.PIDs), func(i int) { w.b = strconv.AppendInt(w.b, int64(m.PIDs[i]), 10) })
	w.close('}')
}

func (w *jsonWriter) stacked(s Stacked) {
	w.open('{')
	w.string("name", s.Name)
	if s.DMName != "" {
		w.string("dm_name", s.DMName)
	}
	w.string("kind", s.Kind)
	w.dev("device", s.Dev)
	w.dev("on", s.On)
	w.int("depth", int64(s.Depth))
	w.close('}')
}
