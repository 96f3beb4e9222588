package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// DefaultEnv is the environment every guest command starts with.
var DefaultEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=linux",
}

// Server is the guest side of the channel.
type Server struct {
	// Console is the terminal device console commands run on.
	Console string
	// Poweroff is called for OpPoweroff, after the answer is sent.
	Poweroff func()

	mu    sync.Mutex // serialises writes and guards procs
	w     io.Writer
	procs map[uint64]*os.Process
}

// Serve announces readiness with hello and handles requests from rw until it
// fails or closes.
func (s *Server) Serve(rw io.ReadWriter, hello Response) error {
	s.w = rw
	s.procs = map[uint64]*os.Process{}
	hello.Op = OpReady
	s.reply(hello)
	sc := bufio.NewScanner(rw)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			continue // line noise on the serial port
		}
		switch req.Op {
		case OpRun:
			go s.run(req)
		case OpSignal:
			s.signal(req)
		case OpPoweroff:
			s.reply(Response{ID: req.ID})
			if s.Poweroff != nil {
				s.Poweroff()
			}
		default:
			s.reply(Response{ID: req.ID, Exit: -1, Error: fmt.Sprintf("unknown op %q", req.Op)})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read agent channel: %w", err)
	}
	return io.EOF
}

func (s *Server) reply(r Response) {
	b, err := json.Marshal(&r)
	if err != nil {
		b, _ = json.Marshal(&Response{ID: r.ID, Exit: -1, Error: "encode answer: " + err.Error()})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(append(b, '\n'))
}

func (s *Server) run(req Request) {
	resp := Response{ID: req.ID}
	if len(req.Argv) == 0 {
		resp.Exit, resp.Error = -1, "empty argv"
		s.reply(resp)
		return
	}
	cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
	cmd.Env = append(append([]string{}, DefaultEnv...), req.Env...)
	cmd.Dir = req.Dir
	var stdout, stderr bytes.Buffer
	if req.Console {
		tty, err := os.OpenFile(s.Console, os.O_RDWR, 0)
		if err != nil {
			resp.Exit, resp.Error = -1, fmt.Sprintf("open console: %v", err)
			s.reply(resp)
			return
		}
		defer tty.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		cmd.Stdin = bytes.NewReader(req.Stdin)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		resp.Exit, resp.Error = -1, err.Error()
		s.reply(resp)
		return
	}
	s.mu.Lock()
	s.procs[req.ID] = cmd.Process
	s.mu.Unlock()
	err := cmd.Wait()
	s.mu.Lock()
	delete(s.procs, req.ID)
	s.mu.Unlock()
	resp.Exit = cmd.ProcessState.ExitCode()
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		resp.Exit = 128 + int(st.Signal())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		resp.Error = err.Error()
	}
	resp.Stdout, resp.Stderr = stdout.Bytes(), stderr.Bytes()
	s.reply(resp)
}

func (s *Server) signal(req Request) {
	s.mu.Lock()
	p := s.procs[req.Target]
	s.mu.Unlock()
	resp := Response{ID: req.ID}
	if p == nil {
		resp.Exit, resp.Error = -1, fmt.Sprintf("no running request %d", req.Target)
	} else if err := syscall.Kill(-p.Pid, syscall.Signal(req.Signal)); err != nil {
		resp.Exit, resp.Error = -1, err.Error()
	}
	s.reply(resp)
}
