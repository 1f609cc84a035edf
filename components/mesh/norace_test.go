//go:build !race

package mesh

const slowdown = 1
