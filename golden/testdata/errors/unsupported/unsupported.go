package unsupported

import (
	"database/sql"
	"time"
)

type Opaque struct{ n int }

type Thing struct {
	ID      int64                 `db:"id" cache:"pk"`
	Map     map[string]int        `db:"map"`     // want `field Map: type map\[string\]int cannot be cached: maps are not supported`
	Chan    chan int              `db:"chan"`    // want `field Chan: type chan int cannot be cached`
	Struct  Opaque                `db:"struct"`  // want `field Struct: type Opaque cannot be cached: a struct needs MarshalBinary and UnmarshalBinary methods`
	PtrPtr  **int                 `db:"ptrptr"`  // want `field PtrPtr: type \*\*int cannot be cached: pointer to pointer`
	Uintptr uintptr               `db:"uintptr"` // want `field Uintptr: type uintptr cannot be cached: uintptr is not a data type`
	Complex complex128            `db:"complex"` // want `field Complex: type complex128 cannot be cached`
	Func    func()                `db:"func"`    // want `field Func: type func\(\) cannot be cached`
	Any     any                   `db:"any"`     // want `field Any: type any cannot be cached`
	Ints    []int                 `db:"ints"`    // want `field Ints: type \[\]int cannot be cached`
	Anon    struct{ A int }       `db:"anon"`    // want `field Anon: type struct\{A int\} cannot be cached`
	PtrNull *sql.NullString       `db:"ptrnull"` // want `field PtrNull: type \*sql.NullString cannot be cached: pointer to a Null type`
	NullPtr sql.Null[*int]        `db:"nullptr"` // want `field NullPtr: type sql.Null\[\*int\] cannot be cached: sql.Null of a pointer`
	NullMap sql.Null[map[int]int] `db:"nullmap"` // want `field NullMap: type sql.Null\[map\[int\]int\] cannot be cached`
	Time    time.Duration         `db:"time"`
}
