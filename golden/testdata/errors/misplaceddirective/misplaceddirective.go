package misplaceddirective

//cachegen:table things // want `//cachegen: directive is not in the doc comment of a type`

type Thing struct {
	ID int64 `db:"id" cache:"pk"`
}

//cachegen:table kinds // want `//cachegen: directive on Kind, which is not a struct type declaration`
type Kind int

//cachegen:table grouped // want `a //cachegen: directive on a grouped type declaration applies to no type`
type (
	// Inner is fine: its own doc comment carries the directive.
	//
	//cachegen:table inner_things
	Inner struct {
		ID int64 `db:"id" cache:"pk"`
	}
	Second struct {
		ID int64 `db:"id" cache:"pk"`
	}
)

func f() {
	//cachegen:table nowhere // want `//cachegen: directive is not in the doc comment of a type`
}

var _ = f
