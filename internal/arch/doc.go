// Package arch holds no code: its test enforces the import rules between the
// project's packages that ../shared/DESIGN.md lays down, so the boundaries
// hold as the code grows.
package arch
