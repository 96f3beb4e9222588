package server

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// configKeys returns the TOML keys of Config's fields, by field index.
func configKeys() []string {
	t := reflect.TypeFor[Config]()
	var keys []string
	for i := range t.NumField() {
		// "-": a table of its own ([sync]), documented apart.
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestSampleConfig checks the commented [server] table that a shipped
// configuration file carries (taken from doc.go): it names every key of
// Config once, it is valid once uncommented, and every key whose default is
// not the zero value shows that default.
func TestSampleConfig(t *testing.T) {
	sample := SampleConfig()
	var body strings.Builder
	var listed []string
	for line := range strings.Lines(sample) {
		text, ok := strings.CutPrefix(line, "# ")
		if !ok {
			t.Fatalf("sample line %q is not commented out", line)
		}
		body.WriteString(text)
		if k, _, ok := strings.Cut(text, " = "); ok {
			listed = append(listed, strings.TrimSpace(k))
		}
	}
	if !strings.HasPrefix(sample, "# [server]\n") {
		t.Fatalf("sample starts %q, want the [server] table header", sample[:min(len(sample), 40)])
	}
	keys := configKeys()
	for _, k := range keys {
		if n := slices.Index(listed, k); n < 0 {
			t.Errorf("key %s is not in doc.go's [server] list; document it there", k)
		} else if slices.Index(listed[n+1:], k) >= 0 {
			t.Errorf("key %s is listed twice in doc.go", k)
		}
	}
	path := filepath.Join(t.TempDir(), "simplecloud.toml")
	if err := os.WriteFile(path, []byte(body.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("uncommented sample: %v", err)
	}
	def := Config{}.Defaults()
	gv, dv := reflect.ValueOf(got), reflect.ValueOf(def)
	for i, k := range keys {
		// use_pam's default depends on the build (-tags pam).
		if k == "use_pam" || dv.Field(i).IsZero() {
			continue // no default beyond the zero value: the list shows an example
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), dv.Field(i).Interface()) {
			t.Errorf("doc.go lists %s = %v, want the default %v", k, gv.Field(i).Interface(), dv.Field(i).Interface())
		}
	}
}
