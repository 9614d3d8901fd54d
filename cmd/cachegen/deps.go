package main

// The generated files import these packages. Importing them here makes
// `go get -tool github.com/cachegen/cachegen/cmd/cachegen` record their
// modules in the user's go.mod and go.sum, so the generated code builds
// right after go generate, with no go.sum entry to add by hand.
import (
	_ "github.com/cachegen/cachegen/runtime"
	_ "github.com/cachegen/cachegen/runtime/memory"
	_ "github.com/cachegen/cachegen/runtime/wire"
	_ "github.com/jmoiron/sqlx"
)
