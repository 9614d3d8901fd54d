package directivenopk

//cachegen:table things
type Thing struct { // want `struct Thing has a //cachegen:table directive but no cache:"pk" field`
	ID int64 `db:"id"`
}
