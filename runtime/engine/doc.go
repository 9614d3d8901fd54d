// Package engine is the protocol behind the repositories cachegen
// generates: it reads rows through a shared cache (Redis, memcached or
// process memory) and keeps that cache consistent with the database across
// writes, transactions, crashes and store faults.
//
// Only generated code, and cachegen's own tools (runtime/cdc, the
// consistency checker, cachegen -explain), should import this package.
// Applications use package runtime, whose names are aliases of the ones
// here; store authors use runtime/store. Like protobuf's protoimpl, this
// package may change in any release, together with the generator.
//
// Generated code holds no protocol of its own: each generated method is a
// few lines of SQL, key and codec around one call into this package:
//
//   - NewTable, Table and its methods, Spec, Index, MissPolicy and its
//     values, Mapper, Scanner, ScanBytes and GoType.
//   - The key encoders (AppendKeyInt, AppendKeyString and the other
//     AppendKey functions), KeyBufferSize and MaxKeyLen.
//   - LoadMany, Lookup, RegistryOf and Provide, behind the loaders of
//     foreign keys.
//
// Change-data capture (runtime/cdc) reaches a table through ChangeTable;
// Explain lists the keys and statements a model's repository uses.
package engine
