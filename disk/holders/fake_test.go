package holders

import (
	"errors"
	"strconv"
	"syscall"
)

type syscallSignal = syscall.Signal

var errBusy = errors.New("busy")

func itoa(i int) string { return strconv.Itoa(i) }
