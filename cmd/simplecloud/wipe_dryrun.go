package main

import (
	"encoding/json"
	"fmt"
	"time"

	"simplecloud/disk"
	"simplecloud/disk/wipe"
)

// wipeDryRun is the JSON form of simplecloud wipe --dry-run: the target as
// the user confirms it and the plan.
type wipeDryRun struct {
	DryRun bool   `json:"dry_run"`
	Name   string `json:"name"`
	Target string `json:"target"`
	wipe.Plan
}

// estimateWipe fills in the plan's expected duration. Writing modes are
// estimated from the rate of a short read of the target (a wipe writes no
// faster than the device reads); discards take what the device needs.
func estimateWipe(t *wipe.Target, p *wipe.Plan) error {
	if p.Mode == wipe.Discard || (p.Mode == wipe.ZeroOut && !p.Block) {
		p.Estimate(0, "no estimate: the device or filesystem decides how long a discard or hole takes (often seconds)")
		return nil
	}
	rate, err := t.SampleReadRate(p.Start)
	if err != nil {
		return err
	}
	p.Estimate(rate, "from the read rate of the target measured just now; writes may be slower")
	return nil
}

// printWipePlan prints what wipe would do, as JSON or in words.
func printWipePlan(a *app, tgt disk.Target, p wipe.Plan, asJSON bool) error {
	name := tgt.Name
	if name == "" {
		name = p.Path
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		if err := enc.Encode(wipeDryRun{DryRun: true, Name: name, Target: tgt.Summary, Plan: p}); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
	}
	summary := tgt.Summary
	if summary == "" {
		summary = name
	}
	w := a.stdout
	fmt.Fprintf(w, "dry run: would wipe %s\n", summary)
	fmt.Fprintf(w, "  mode:     %s: %s\n", p.Mode, p.Operation)
	fmt.Fprintf(w, "  range:    bytes %d to %d (%s", p.Start, p.End-1, disk.Size(uint64(p.Bytes)))
	if p.Start > 0 {
		fmt.Fprintf(w, ", resuming at offset %d", p.Start)
	}
	fmt.Fprintln(w, ")")
	if p.EstimateSeconds > 0 {
		d := "under a second"
		if p.EstimateSeconds >= 1 {
			d = "about " + time.Duration(p.EstimateSeconds*float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(w, "  estimate: %s at %s/s (%s)\n", d, disk.Size(uint64(p.RateBytesPerSec)), p.EstimateBasis)
	} else {
		fmt.Fprintf(w, "  estimate: %s\n", p.EstimateBasis)
	}
	_, err := fmt.Fprintf(w, "Nothing was written; without --dry-run wipe asks you to type %s (or takes --yes).\n", name)
	return err
}
