// Package faults is the fault vocabulary shared by every backend: the kinds
// (one file each, listed in one table), the scopes a fault targets, and the
// Planned form of a fault resolved against a topology. A fault is a plain
// value; the simulator applies it to its model and the real runners turn the
// same value into process kills, container stops and proxy toxics.
package faults
