package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Folder{Name: "docs", Local: "/home/u/docs", Remote: "u@host:docs", Mode: ModeSync}
	for _, tc := range []struct {
		name string
		edit func(*Folder)
		want string // "" for valid
	}{
		{"valid sync", func(f *Folder) {}, ""},
		{"valid stream", func(f *Folder) { f.Mode = ModeStream }, ""},
		{"sync without user", func(f *Folder) { f.Remote = "host:docs" }, ""},
		{"stream without user", func(f *Folder) { f.Mode, f.Remote = ModeStream, "host:docs" }, "needs the user"},
		{"bad name", func(f *Folder) { f.Name = "../x" }, "folder name"},
		{"empty name", func(f *Folder) { f.Name = "" }, "folder name"},
		{"relative local", func(f *Folder) { f.Local = "docs" }, "clean absolute"},
		{"unclean local", func(f *Folder) { f.Local = "/home/u/../docs" }, "clean absolute"},
		{"root local", func(f *Folder) { f.Local = "/" }, "clean absolute"},
		{"no colon", func(f *Folder) { f.Remote = "u@host" }, "remote"},
		{"bad mode", func(f *Folder) { f.Mode = "mirror" }, "mode"},
		{"encrypted stream", func(f *Folder) { f.Encrypt, f.Mode, f.Remote = true, ModeStream, "u@h:p" }, "stream folder cannot be encrypted"},
		{"key without encrypt", func(f *Folder) { f.Key = "abcd" }, "without encrypt"},
		{"port", func(f *Folder) { f.Port = 70000 }, "port"},
		{"max delete", func(f *Folder) { f.MaxDelete = 101 }, "max_delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			tc.edit(&f)
			err := (&Config{Folders: []Folder{f}}).Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAddRemovePause(t *testing.T) {
	var c Config
	if err := c.Add(Folder{Local: "/home/u/docs", Remote: "u@host:docs"}); err != nil {
		t.Fatal(err)
	}
	if f := c.Folders[0]; f.Name != "docs" || f.Mode != ModeSync {
		t.Errorf("got name %q mode %q, want the local directory's name and sync", f.Name, f.Mode)
	}
	for _, tc := range []struct {
		f    Folder
		want string
	}{
		{Folder{Local: "/home/u/other/docs", Remote: "u@host:x"}, "two folders are named"},
		{Folder{Name: "sub", Local: "/home/u/docs/sub", Remote: "u@host:x"}, "overlap"},
		{Folder{Name: "up", Local: "/home/u", Remote: "u@host:x"}, "overlap"},
	} {
		if err := c.Add(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("add %s: got %v, want %q", tc.f.Local, err, tc.want)
		}
	}
	if len(c.Folders) != 1 {
		t.Fatalf("a refused add changed the configuration: %v", c.Folders)
	}
	if err := c.Add(Folder{Name: "music", Local: "/home/u/docs-music", Remote: "u@host:music", Mode: ModeStream}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPaused("/home/u/docs", true); err != nil || !c.Folders[0].Paused {
		t.Errorf("pause by local path: %v, paused %v", err, c.Folders[0].Paused)
	}
	if err := c.SetPaused("nope", true); err == nil {
		t.Error("pausing a folder not configured succeeded")
	}
	if err := c.Remove("docs"); err != nil || len(c.Folders) != 1 || c.Folders[0].Name != "music" {
		t.Errorf("remove: %v, left %v", err, c.Folders)
	}
	if err := c.Remove("docs"); err == nil {
		t.Error("removing twice succeeded")
	}
}

func TestSaveLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "simplecloud", "client.toml")
	if c, err := Load(p); err != nil || len(c.Folders) != 0 {
		t.Fatalf("missing file: got %v, %v; want an empty configuration", c, err)
	}
	c := Config{Folders: []Folder{
		{Name: "docs", Local: "/home/u/docs", Remote: "u@host:docs", Mode: ModeSync, Port: 2222, MaxDelete: 10},
		{Name: "music", Local: "/home/u/music", Remote: "u@[::1]:music", Mode: ModeStream, Paused: true, Identity: "/home/u/.ssh/k"},
	}}
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil || !reflect.DeepEqual(got, &c) {
		t.Errorf("got %+v, %v; want %+v", got, err, c)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("got %d files beside the configuration, want none", len(ents)-1)
	}
	for name, text := range map[string]string{
		"unknown key": "[[folder]]\nname = \"a\"\nlocal = \"/a\"\nremote = \"h:a\"\nmode = \"sync\"\nspeed = 3\n",
		"bad toml":    "[[folder]\n",
		"invalid":     "[[folder]]\nname = \"a\"\nlocal = \"a\"\nremote = \"h:a\"\nmode = \"sync\"\n",
	} {
		os.WriteFile(p, []byte(text), 0o600)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
