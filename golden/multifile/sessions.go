package multifile

// Session is declared in a second file and points at an Account.
type Session struct {
	Token     string `db:"token"      cache:"pk"`
	AccountID int64  `db:"account_id" cache:"fk=Account"`
}
