package xdg

import "testing"

func TestPath(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
		ok   bool
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/simplecloud/sync", true},
		{map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/h"}, "/h/.local/state/simplecloud/sync", true},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/simplecloud/sync", true},
		{map[string]string{}, "", false},
	} {
		got, err := StateHome.Path(func(k string) string { return c.env[k] }, "simplecloud", "sync")
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("%v: got %q, %v; want %q, ok %v", c.env, got, err, c.want, c.ok)
		}
	}
}
