package loadername

type User struct {
	ID int64 `db:"id" cache:"pk"`
}

type Post struct {
	ID       int64  `db:"id" cache:"pk"`
	AuthorID int64  `db:"author_id" cache:"fk=User"`
	Author   int64  `db:"author" cache:"fk=User"` // want `LoadAuthor of the foreign key Author collides with the foreign key AuthorID`
	Email    string `db:"email" cache:"unique"`   // want `GetByEmails of the unique field Email \(batch\) collides with the unique lookup emails`
	Emails   string `db:"emails" cache:"unique"`
}
