package seal

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"strings"
)

// MarkerName is the file at an encrypted folder's root that names its key.
// It is shorter than any encrypted name (43 bytes at least) and has no '.',
// so it cannot be taken for one.
const MarkerName = "SIMPLECLOUD-KEY"

const markerHead = "simplecloud folder key v1"

// Marker returns the content of the folder's key marker: the key id and a
// MAC that only this key makes. A client writes it when it creates an
// encrypted folder and checks it (CheckMarker) before anything else.
func (k *Key) Marker() []byte {
	return []byte(fmt.Sprintf("%s\nid %s\ncheck %s\n", markerHead, k.id, k.markerCheck()))
}

func (k *Key) markerCheck() string {
	m := newMAC(k.marker)
	m.Write([]byte(markerHead + "\x00" + k.id))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckMarker checks a folder's key marker against k: another key's marker
// is an error wrapping ErrWrongKey that names both ids; a marker with k's
// id and a bad check wraps ErrAuth.
func (k *Key) CheckMarker(b []byte) error {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 3 || lines[0] != markerHead || !strings.HasPrefix(lines[1], "id ") || !strings.HasPrefix(lines[2], "check ") {
		return fmt.Errorf("check folder key marker: %w: not a key marker", ErrFormat)
	}
	id := strings.TrimPrefix(lines[1], "id ")
	if id != k.id {
		return fmt.Errorf("check folder key marker: %w: the folder is sealed with key %s, this is key %s", ErrWrongKey, id, k.id)
	}
	if !hmac.Equal([]byte(strings.TrimPrefix(lines[2], "check ")), []byte(k.markerCheck())) {
		return fmt.Errorf("check folder key marker: %w", ErrAuth)
	}
	return nil
}
