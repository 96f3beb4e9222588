// Package disk will hold disk discovery (through ghw) and the eligibility
// guard that decides which disk may become the data disk and why the others
// may not. It imports nothing else from the project.
package disk
