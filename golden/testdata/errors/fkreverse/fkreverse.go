package fkreverse

type User struct {
	ID int64 `db:"id" cache:"pk"`
}

type Post struct {
	ID       int64  `db:"id" cache:"pk"`
	AuthorID int64  `db:"author_id" cache:"fk=User,reverse"`                                                   // want `field AuthorID: reverse on fk=User, which is not unique: a User has any number of Posts, and one-to-many lists are never cached`
	OrgID    int64  `db:"org_id" cache:"unique,fk=github.com/cachegen/cachegen/golden/basic.Org,reverse=Post"` // want `field OrgID: reverse on fk=github.com/cachegen/cachegen/golden/basic.Org, a model of another package`
	Slug     string `db:"slug" cache:"unique,reverse"`                                                         // want `field Slug: reverse without fk`
	EditorID int64  `db:"editor_id" cache:"unique,fk=User,reverse=lower"`                                      // want `field EditorID: invalid reverse name "lower"`
	NarrowID int32  `db:"narrow_id" cache:"unique,fk=User,reverse=Narrow"`                                     // want `field NarrowID: reverse on fk=User: int32 converts to User.ID but not back`
}
