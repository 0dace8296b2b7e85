// Package layers builds nothing: its test holds the module to the rule of
// who may import whom, written out in docs/architecture.md.
package layers
