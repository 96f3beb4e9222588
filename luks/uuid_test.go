package luks

import "testing"

func TestValidUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f70": true,
		"0F2C1E7A-5B3D-4C8E-9A1F-2B3C4D5E6F70": true,
		"0f2c1e7a5b3d4c8e9a1f2b3c4d5e6f70":     false,
		"0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f7":  false,
		"0f2c1e7a-5b3d-4c8e-9a1f-2b3c4d5e6f7g": false,
		"0f2c1e7a_5b3d-4c8e-9a1f-2b3c4d5e6f70": false,
		"":                                     false,
	} {
		if got := validUUID(s); got != want {
			t.Errorf("validUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
