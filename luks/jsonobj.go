package luks

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// object is a JSON object whose members keep their order and their exact
// encoded values. It holds the members of the LUKS2 metadata this package
// does not interpret, so that a rewrite of the header preserves them.
type object []member

// member is one name/value pair of an object; Value is the member's JSON
// text, compacted.
type member struct {
	Key   string
	Value json.RawMessage
}

// get returns the value of key and whether it is present.
func (o object) get(key string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// set replaces the value of key, or appends it when absent.
func (o *object) set(key string, v json.RawMessage) {
	for i, m := range *o {
		if m.Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, member{Key: key, Value: v})
}

// add appends a member whose value is the JSON text v.
func (o *object) add(key string, v json.RawMessage) {
	*o = append(*o, member{Key: key, Value: v})
}

// put appends a member whose value is v encoded by encoding/json.
func (o *object) put(key string, v any) { o.add(key, mustJSON(v)) }

// encode returns the object as compact JSON, the members in order and
// their values as they are.
func (o object) encode() json.RawMessage {
	b, _ := o.MarshalJSON()
	return b
}

// MarshalJSON encodes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		b.Write(k)
		b.WriteByte(':')
		if len(m.Value) == 0 {
			b.WriteString("null")
		} else {
			b.Write(m.Value)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes an object keeping member order. Duplicate names are
// an error: they make the meaning of the metadata ambiguous.
func (o *object) UnmarshalJSON(data []byte) error {
	obj, err := parseObject(data)
	if err != nil {
		return err
	}
	*o = obj
	return nil
}

// parseObject decodes data, which must be exactly one JSON object.
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("is %s, want an object", jsonKind(data))
	}
	var obj object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonSyntax(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object member name is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonSyntax(err)
		}
		if _, dup := obj.get(key); dup {
			return nil, fmt.Errorf("duplicate member %q", key)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			return nil, jsonSyntax(err)
		}
		obj = append(obj, member{Key: key, Value: c.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonSyntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return obj, nil
}

func jsonSyntax(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("JSON text ends early")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// fields reads typed members out of an object, recording the first error
// with the full path of the offending member, and remembers which members it
// consumed so the rest can be kept as unknown fields.
type fields struct {
	obj  object
	path string
	used map[string]bool
	err  error
}

func newFields(obj object, path string) *fields {
	return &fields{obj: obj, path: path, used: map[string]bool{}}
}

func (f *fields) fail(key, format string, args ...any) {
	if f.err == nil {
		f.err = &FieldError{Field: joinPath(f.path, key), Reason: fmt.Sprintf(format, args...)}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
	}
	return path + "." + key
}

func (f *fields) has(key string) bool {
	_, ok := f.obj.get(key)
	return ok
}

func (f *fields) raw(key string, required bool) (json.RawMessage, bool) {
	f.used[key] = true
	v, ok := f.obj.get(key)
	if !ok {
		if required {
			f.fail(key, "missing")
		}
		return nil, false
	}
	return v, true
}

func (f *fields) str(key string, required bool) string {
	v, ok := f.raw(key, required)
	if !ok {
		return ""
	}
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		f.fail(key, "is %s, want a string", jsonKind(v))
		return ""
	}
	return s
}

// integer reads a JSON integer in [lo, hi].
func (f *fields) integer(key string, required bool, lo, hi int64) int64 {
	v, ok := f.raw(key, required)
	if !ok {
		return 0
	}
	if jsonKind(v) != "a number" {
		f.fail(key, "is %s, want an integer", jsonKind(v))
		return 0
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		f.fail(key, "%s is not an integer in range", v)
		return 0
	}
	if n < lo || n > hi {
		f.fail(key, "%d is out of range [%d, %d]", n, lo, hi)
		return 0
	}
	return n
}

// u64 reads a string-uint64: a decimal number in a JSON string.
func (f *fields) u64(key string, required bool) uint64 {
	s := f.str(key, required)
	if f.err != nil || !f.has(key) {
		return 0
	}
	n, err := parseU64(s)
	if err != nil {
		f.fail(key, "%q is not a decimal unsigned 64-bit number", s)
		return 0
	}
	return n
}

func parseU64(s string) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not decimal")
	}
	return strconv.ParseUint(s, 10, 64)
}

func (f *fields) b64(key string, required bool) []byte {
	s := f.str(key, required)
	if f.err != nil || !f.has(key) {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		f.fail(key, "is not valid base64")
		return nil
	}
	return b
}

func (f *fields) strArray(key string, required bool) []string {
	v, ok := f.raw(key, required)
	if !ok {
		return nil
	}
	var arr []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &arr) != nil {
		f.fail(key, "is %s, want an array of strings", jsonKind(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		var s string
		if len(e) == 0 || e[0] != '"' || json.Unmarshal(e, &s) != nil {
			f.fail(fmt.Sprintf("%s[%d]", key, i), "is %s, want a string", jsonKind(e))
			return nil
		}
		out = append(out, s)
	}
	return out
}

// idArray reads an array of decimal object names ("0", "1", ...).
func (f *fields) idArray(key string, required bool) []int {
	ss := f.strArray(key, required)
	if f.err != nil {
		return nil
	}
	out := make([]int, 0, len(ss))
	for i, s := range ss {
		n, err := parseID(s)
		if err != nil {
			f.fail(fmt.Sprintf("%s[%d]", key, i), "%q is not an object id", s)
			return nil
		}
		out = append(out, n)
	}
	return out
}

func (f *fields) object(key string, required bool) object {
	v, ok := f.raw(key, required)
	if !ok {
		return nil
	}
	if jsonKind(v) != "an object" {
		f.fail(key, "is %s, want an object", jsonKind(v))
		return nil
	}
	o, err := parseObject(v)
	if err != nil {
		f.fail(key, "%v", err)
		return nil
	}
	return o
}

// rest returns the members not read so far, in their original order.
func (f *fields) rest() object {
	var out object
	for _, m := range f.obj {
		if !f.used[m.Key] {
			out = append(out, m)
		}
	}
	return out
}

// parseID parses an object name: a decimal number without sign or leading
// zeros, as cryptsetup writes them.
func parseID(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not an id")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > math.MaxInt32 {
		return 0, errors.New("not an id")
	}
	return n, nil
}
