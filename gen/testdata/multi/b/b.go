package b

//cachegen:table b_posts
type Post struct {
	ID int64 `db:"id" cache:"pk"`
}
