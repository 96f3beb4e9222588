package core

import (
	"strings"
	"testing"
	"time"
)

func TestConflictName(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		path, host, want string
	}{
		{"report.pdf", "lap", "report.sync-conflict-20260102-030405-lap.pdf"},
		{"Makefile", "lap", "Makefile.sync-conflict-20260102-030405-lap"},
		{".bashrc", "lap", ".bashrc.sync-conflict-20260102-030405-lap"},
		{".config.json", "lap", ".config.sync-conflict-20260102-030405-lap.json"},
		{"archive.tar.gz", "lap", "archive.tar.sync-conflict-20260102-030405-lap.gz"},
		{"notes.", "lap", "notes..sync-conflict-20260102-030405-lap"},
		{"a/b/c.txt", "lap", "a/b/c.sync-conflict-20260102-030405-lap.txt"},
		{"dir.d/file", "lap", "dir.d/file.sync-conflict-20260102-030405-lap"},
		{"x", "my host/evil", "x.sync-conflict-20260102-030405-my-host-evil"},
		{"x", "", "x.sync-conflict-20260102-030405-unknown"},
		{"x", "..", "x.sync-conflict-20260102-030405-unknown"},
		{"x", "box.example.org", "x.sync-conflict-20260102-030405-box.example.org"},
	}
	for _, tt := range tests {
		if got := ConflictName(tt.path, now, tt.host); got != tt.want {
			t.Errorf("ConflictName(%q, %q): got %q, want %q", tt.path, tt.host, got, tt.want)
		}
		if !IsConflictCopy(ConflictName(tt.path, now, tt.host)) {
			t.Errorf("IsConflictCopy(ConflictName(%q)) is false", tt.path)
		}
	}
	if IsConflictCopy("report.pdf") || IsConflictCopy("a.sync-conflict-2026-lap") {
		t.Errorf("IsConflictCopy accepts a plain name")
	}
}

// TestConflictNameLong checks that a copy's name stays within 255 bytes,
// cut at a UTF-8 boundary, keeping the tag and extension.
func TestConflictNameLong(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, stem := range []string{strings.Repeat("a", 251), strings.Repeat("é", 125)} {
		got := ConflictName("d/"+stem+".txt", now, "lap")
		name := Base(got)
		if len(name) > 255 {
			t.Errorf("name is %d bytes, want at most 255", len(name))
		}
		if !strings.HasSuffix(name, ".sync-conflict-20260102-030405-lap.txt") || !strings.HasPrefix(got, "d/") {
			t.Errorf("got %q, want the tag and extension kept", got)
		}
		if !strings.HasPrefix(stem, strings.TrimSuffix(name, ".sync-conflict-20260102-030405-lap.txt")) {
			t.Errorf("got %q: the stem was not cut at a character boundary", name)
		}
	}
}
