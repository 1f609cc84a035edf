//go:build race

package mesh

// slowdown stretches the rings' configured times under the race detector,
// whose slower code would otherwise miss probe acks.
const slowdown = 4
