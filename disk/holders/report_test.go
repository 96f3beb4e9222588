package holders

import (
	"errors"
	"testing"
)

// TestMakePlanRefusesRoot: a device that carries / in the scanner's own
// namespace is never planned for (every process would be a holder); / in
// another namespace, a container's, is just a mount.
func TestMakePlanRefusesRoot(t *testing.T) {
	cases := []struct {
		name   string
		mounts []Mount
		refuse bool
	}{
		{"root here", []Mount{{MountPoint: "/", Initial: true}}, true},
		{"root of a container", []Mount{{MountPoint: "/", Namespace: 4026532000}}, false},
		{"a data mount", []Mount{{MountPoint: "/srv/data", Initial: true}}, false},
		{"nothing", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Report{Target: "things", Mounts: c.mounts}
			if got := r.HoldsRoot(); got != c.refuse {
				t.Errorf("HoldsRoot: got %v, want %v", got, c.refuse)
			}
			p, err := MakePlan(r, PlanOptions{Mapping: "things", Kill: true})
			if got := errors.Is(err, ErrRootFilesystem); got != c.refuse {
				t.Errorf("MakePlan: got plan %+v, error %v; want refused %v", p, err, c.refuse)
			}
			if c.refuse && len(p.Steps) > 0 {
				t.Errorf("got steps %+v with the refusal, want none", p.Steps)
			}
		})
	}
}

// TestBusyBesides: lock finds a volume busy when anything but its own mount
// point, in the scanner's namespace, holds it.
func TestBusyBesides(t *testing.T) {
	own := Mount{MountPoint: "/srv/data", Initial: true}
	cases := []struct {
		name string
		r    Report
		want bool
	}{
		{"only its mount", Report{Mounts: []Mount{own}}, false},
		{"its mount, written unclean", Report{Mounts: []Mount{{MountPoint: "/srv/data/", Initial: true}}}, false},
		{"nothing at all", Report{}, false},
		{"a second mount point", Report{Mounts: []Mount{own, {MountPoint: "/mnt", Initial: true}}}, true},
		{"the same path in another namespace", Report{Mounts: []Mount{own, {MountPoint: "/srv/data", Namespace: 4026532000}}}, true},
		{"a process", Report{Mounts: []Mount{own}, Processes: []Process{{PID: 100}}}, true},
		{"a swap file", Report{Mounts: []Mount{own}, Swaps: []Swap{{Path: "/srv/data/swap"}}}, true},
		{"a loop device", Report{Mounts: []Mount{own}, Loops: []Loop{{Name: "loop0"}}}, true},
		{"a stacked device", Report{Stacked: []Stacked{{Name: "dm-1"}}}, true},
		{"a kernel user", Report{Mounts: []Mount{own}, Kernel: []string{"nfsd export"}}, true},
	}
	for _, c := range cases {
		if got := c.r.BusyBesides("/srv/data"); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
