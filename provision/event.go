package provision

import (
	"fmt"
	"time"

	"simplecloud/disk"
)

// StepName names one step of the install pipeline.
type StepName string

// Steps of the install pipeline, in the order they run.
const (
	StepGuard     StepName = "guard"     // re-check the disk right before writing
	StepCleanup   StepName = "cleanup"   // undo what an interrupted run of ours left open
	StepWipe      StepName = "wipe"      // overwrite the disk
	StepPartition StepName = "partition" // one GPT partition typed Linux LUKS
	StepFormat    StepName = "format"    // LUKS2 header and keyslot(s)
	StepOpen      StepName = "open"      // dm-crypt mapping
	StepMkfs      StepName = "mkfs"      // ext4 with 0 reserved blocks, checked with dumpe2fs
	StepMount     StepName = "mount"     // mount at the mount point
	StepConfigure StepName = "configure" // simplecloud.toml and systemd units
	StepHandoff   StepName = "handoff"   // start or notify the server
)

// EventKind is what happened to a step.
type EventKind string

// Kinds of event.
const (
	EventStarted  EventKind = "started"
	EventProgress EventKind = "progress"
	EventInfo     EventKind = "info" // a fact worth showing: a KDF benchmark, the LUKS UUID
	EventDone     EventKind = "done"
	EventFailed   EventKind = "failed"
	EventSkipped  EventKind = "skipped"
)

// Event reports the progress of one step. Events of one Apply come from one
// goroutine at a time, in order.
type Event struct {
	Step    StepName  `json:"step"`
	Kind    EventKind `json:"kind"`
	Message string    `json:"message,omitempty"`

	// Progress: Done of Total bytes (or units), a rate and an estimate.
	Done        int64   `json:"done,omitempty"`
	Total       int64   `json:"total,omitempty"`
	RatePerSec  float64 `json:"rate_per_sec,omitempty"`
	ETASeconds  float64 `json:"eta_seconds,omitempty"`
	ElapsedSecs float64 `json:"elapsed_seconds,omitempty"`

	// Err is set on EventFailed; Error is its text for JSON.
	Err   error  `json:"-"`
	Error string `json:"error,omitempty"`
}

// String renders an event as one plain line for a log or a serial console.
func (e Event) String() string {
	switch e.Kind {
	case EventProgress:
		s := fmt.Sprintf("%s: %s", e.Step, percent(e.Done, e.Total))
		if e.RatePerSec > 0 {
			s += fmt.Sprintf(", %s/s", disk.Size(uint64(e.RatePerSec)))
		}
		if e.ETASeconds > 0 {
			s += fmt.Sprintf(", %v left", (time.Duration(e.ETASeconds) * time.Second).Round(time.Second))
		}
		if e.Message != "" {
			s += " (" + e.Message + ")"
		}
		return s
	case EventFailed:
		return fmt.Sprintf("%s: failed: %s", e.Step, e.Error)
	default:
		if e.Message == "" {
			return fmt.Sprintf("%s: %s", e.Step, e.Kind)
		}
		return fmt.Sprintf("%s: %s: %s", e.Step, e.Kind, e.Message)
	}
}

func percent(done, total int64) string {
	if total <= 0 {
		return fmt.Sprint(done)
	}
	return fmt.Sprintf("%.1f%%", 100*float64(done)/float64(total))
}

// Sink receives events. It is called from one goroutine at a time and must not
// block for long.
type Sink func(Event)

func (s Sink) emit(e Event) {
	if e.Err != nil && e.Error == "" {
		e.Error = e.Err.Error()
	}
	if s != nil {
		s(e)
	}
}
