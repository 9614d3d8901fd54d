package groupofone

type Thing struct {
	ID    int64  `db:"id" cache:"pk"`
	Email string `db:"email" cache:"unique_together=solo"`        // want `unique_together group "solo" has only one field \(Email\)`
	Nick  string `db:"nick" cache:"unique,unique_together=alone"` // want `unique_together group "alone" has only one field \(Nick\); the field is already unique`
}
