package gen

import (
	"go/types"
	"strconv"

	"github.com/cachegen/cachegen/internal/catalog"
)

// Catalog returns what m's tags say its table looks like, for the check
// against the live database (cachegen -verify, runtime.WithVerify).
func (m *Model) Catalog() *catalog.Model {
	cm := &catalog.Model{Name: m.Name, Table: m.Table, PK: m.PK.Column, AutoPK: m.AutoPK}
	for _, f := range m.Fields {
		cm.Columns = append(cm.Columns, catalog.ModelColumn{Name: f.Column, Field: f.Name, Type: f.GoType()})
	}
	for _, ix := range m.Uniques {
		u := catalog.Unique{Name: ix.Name}
		for _, f := range ix.Fields {
			u.Columns = append(u.Columns, f.Column)
		}
		cm.Uniques = append(cm.Uniques, u)
	}
	return cm
}

// GoType is the field's type as the check against the database sees it.
func (f *Field) GoType() catalog.GoType {
	g := f.Codec.goType()
	g.Name = types.TypeString(f.Type, func(p *types.Package) string { return p.Name() })
	return g
}

func (c *Codec) goType() catalog.GoType {
	switch c.Kind {
	case CodecPointer, CodecNull:
		g := c.Elem.goType()
		g.Nullable = true
		return g
	case CodecFloat32:
		return catalog.GoType{Kind: catalog.Float32}
	case CodecFloat64:
		return catalog.GoType{Kind: catalog.Float64}
	case CodecBool:
		return catalog.GoType{Kind: catalog.Bool}
	case CodecTime:
		return catalog.GoType{Kind: catalog.Time}
	case CodecByteArray:
		return catalog.GoType{Kind: catalog.ByteArray}
	case CodecBytes:
		return catalog.GoType{Kind: catalog.Bytes, Nullable: true} // nil scans from NULL
	case CodecString:
		if c.Named && scans(c.Type) {
			return catalog.GoType{Kind: catalog.Other}
		}
		return catalog.GoType{Kind: catalog.String}
	case CodecInt, CodecUint:
		if c.Named && scans(c.Type) {
			return catalog.GoType{Kind: catalog.Other}
		}
		return catalog.GoType{Kind: intKind(c.Type.Underlying().(*types.Basic))}
	}
	return catalog.GoType{Kind: catalog.Other} // a Marshaler: its scan is its own
}

// scans reports whether *t implements sql.Scanner: the type reads its
// column itself, and no column type can be said to fit or not.
func scans(t types.Type) bool {
	sel := types.NewMethodSet(types.NewPointer(t)).Lookup(nil, "Scan")
	return sel != nil
}

func intKind(b *types.Basic) catalog.Kind {
	switch b.Kind() {
	case types.Int8:
		return catalog.Int8
	case types.Int16:
		return catalog.Int16
	case types.Int32:
		return catalog.Int32
	case types.Int64:
		return catalog.Int64
	case types.Int:
		if strconv.IntSize == 32 {
			return catalog.Int32
		}
		return catalog.Int64
	case types.Uint8:
		return catalog.Uint8
	case types.Uint16:
		return catalog.Uint16
	case types.Uint32:
		return catalog.Uint32
	case types.Uint:
		if strconv.IntSize == 32 {
			return catalog.Uint32
		}
		return catalog.Uint64
	}
	return catalog.Uint64
}
