// Package agent is the command channel between a test on the host and the
// guest kernel it boots: a line of JSON per message over a virtio port of
// the guest (PortName). The guest side (Serve) runs commands and answers; the host
// side (Client) sends requests and waits for answers. The protocol is for
// tests and the demo only; it has no authentication and trusts both ends.
package agent

// PortName is the name of the virtio port the agent serves on.
const PortName = "sc.agent"

// Ops of a Request.
const (
	OpRun      = "run"      // run Argv and answer when it exits
	OpSignal   = "signal"   // send Signal to the process group of request Target
	OpPoweroff = "poweroff" // sync and power the guest off
	OpReady    = "ready"    // the guest's first message, unsolicited
)

// Request is one message from the host.
type Request struct {
	ID      uint64   `json:"id"`
	Op      string   `json:"op"`
	Argv    []string `json:"argv,omitempty"`
	Env     []string `json:"env,omitempty"`   // added to the default environment
	Dir     string   `json:"dir,omitempty"`   // working directory
	Stdin   []byte   `json:"stdin,omitempty"` // fed to standard input, then closed
	Console bool     `json:"console,omitempty"`
	Target  uint64   `json:"target,omitempty"`
	Signal  int      `json:"signal,omitempty"`
}

// Response answers the Request with the same ID. The guest's unsolicited
// hello has Op OpReady and ID 0.
type Response struct {
	ID     uint64 `json:"id"`
	Op     string `json:"op,omitempty"`
	Exit   int    `json:"exit"`
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Error  string `json:"error,omitempty"` // the command could not run at all
	Kernel string `json:"kernel,omitempty"`
}

// maxLine bounds one message (base64 of payloads included).
const maxLine = 64 << 20
