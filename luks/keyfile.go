package luks

import (
	"fmt"
	"io"
	"os"
)

// MaxKeyFileSize is cryptsetup's default limit on key files, in bytes.
const MaxKeyFileSize = 8 << 20

// ReadKeyFile reads a key file whole, as cryptsetup does: "-" reads stdin
// to its end; a file larger than MaxKeyFileSize or an empty one is refused.
// The caller clears the key.
func ReadKeyFile(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read key file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxKeyFileSize+1))
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(b) > MaxKeyFileSize {
		clear(b)
		return nil, fmt.Errorf("key file %s is larger than %d bytes", path, MaxKeyFileSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("key file %s is empty", path)
	}
	return b, nil
}
