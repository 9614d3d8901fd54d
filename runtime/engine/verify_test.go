package engine

import (
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/catalog"
)

// The runtime's GoType families are the catalog's kinds, numbered alike:
// catalogType converts by number.
func TestGoTypeNumberedAsCatalogKinds(t *testing.T) {
	pairs := []struct {
		g GoType
		k catalog.Kind
	}{
		{GoOther, catalog.Other}, {GoInt8, catalog.Int8}, {GoInt16, catalog.Int16}, {GoInt32, catalog.Int32},
		{GoInt64, catalog.Int64}, {GoUint8, catalog.Uint8}, {GoUint16, catalog.Uint16}, {GoUint32, catalog.Uint32},
		{GoUint64, catalog.Uint64}, {GoFloat32, catalog.Float32}, {GoFloat64, catalog.Float64}, {GoBool, catalog.Bool},
		{GoString, catalog.String}, {GoBytes, catalog.Bytes}, {GoByteArray, catalog.ByteArray}, {GoTime, catalog.Time},
	}
	for _, p := range pairs {
		if got := p.g.catalogType(); got.Kind != p.k || got.Nullable {
			t.Errorf("GoType %d: catalog %v, want %v", p.g, got, p.k)
		}
		if got := (p.g | GoNullable).catalogType(); got.Kind != p.k || !got.Nullable {
			t.Errorf("GoType %d|GoNullable: catalog %+v, want nullable %v", p.g, got, p.k)
		}
	}
}

// TestDialectsAreTheCatalogs pins runtime.Dialect to catalog.Dialect: the
// runtime converts one to the other.
func TestDialectsAreTheCatalogs(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		want := map[Dialect]string{SQLite: "sqlite", Postgres: "postgres", MySQL: "mysql"}[d]
		if got := catalog.Dialect(d).String(); got != want {
			t.Errorf("runtime dialect %d is catalog %q, want %q", int(d), got, want)
		}
		name := map[Dialect]string{SQLite: "sqlite", Postgres: "pgx", MySQL: "mysql"}[d]
		if got, err := DialectOf(name); err != nil || got != d {
			t.Errorf("DialectOf(%q) = %v, %v; want %v", name, got, err, d)
		}
	}
	if _, err := DialectOf("oracle"); err == nil || !strings.Contains(err.Error(), "WithDialect") {
		t.Errorf("DialectOf(oracle): %v, want an error that names WithDialect", err)
	}
}
