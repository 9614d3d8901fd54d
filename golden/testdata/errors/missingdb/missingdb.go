package missingdb

type Thing struct {
	ID   int64  `db:"id" cache:"pk"`
	Name string // want `field Name: missing db tag`
	Nick string `json:"nick"` // want `field Nick: missing db tag`
}
