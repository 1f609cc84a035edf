//go:build tools

// The real stack's dependencies, kept in go.mod while their packages are built.
package components

import (
	_ "github.com/Shopify/toxiproxy/v2"
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/testcontainers/testcontainers-go"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/time/rate"
)
