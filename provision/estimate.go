package provision

import (
	"fmt"
	"time"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
)

// Typical sequential write rates, bytes per second, by kind of disk.
var writeRate = map[disk.Kind]float64{
	disk.KindHDD:     150e6,
	disk.KindSSD:     450e6,
	disk.KindNVMe:    1500e6,
	disk.KindVirtual: 300e6,
}

// randomRate caps the rate of a random wipe: the keystream has to be made.
const randomRate = 1000e6

// WipeDuration estimates how long a wipe of d takes; 0 for none or a
// discard, which take seconds.
func WipeDuration(m wipe.Mode, d disk.Disk) time.Duration {
	rate, ok := writeRate[d.Kind]
	if !ok {
		rate = writeRate[disk.KindHDD]
	}
	switch m {
	case wipe.Zero:
	case wipe.Random:
		rate = min(rate, randomRate)
	default:
		return 0
	}
	return time.Duration(float64(d.SizeBytes) / rate * float64(time.Second))
}

// EstimateWipe describes WipeDuration for people: "about 2h10m".
func EstimateWipe(m wipe.Mode, d disk.Disk) string {
	t := WipeDuration(m, d)
	switch {
	case m == WipeNone:
		return "nothing written"
	case t == 0:
		return "a few seconds"
	case t < time.Minute:
		return "under a minute"
	case t < time.Hour:
		return fmt.Sprintf("about %d min", int(t.Minutes()+0.5))
	default:
		t = t.Round(10 * time.Minute)
		return fmt.Sprintf("about %dh%02dm", int(t.Hours()), int(t.Minutes())%60)
	}
}
