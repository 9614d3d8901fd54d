package fkcycle

// Category references itself with a NOT NULL fk: the first row can never
// be inserted.
type Category struct {
	ID       int64 `db:"id" cache:"pk"`
	ParentID int64 `db:"parent_id" cache:"fk=Category"` // want `field ParentID: fk=Category references its own model and is NOT NULL: the first Category can never be inserted`
}

// Team and Person reference each other with NOT NULL fks.
type Team struct {
	ID     int64 `db:"id" cache:"pk"`
	LeadID int64 `db:"lead_id" cache:"fk=Person"`
}

type Person struct {
	ID     int64 `db:"id" cache:"pk"`
	TeamID int64 `db:"team_id" cache:"fk=Team"` // want `field TeamID: fk=Team closes a cycle of NOT NULL foreign keys \(Team.LeadID -> Person.TeamID -> Team\)`
}

// A nullable fk breaks a cycle: no error.
type Node struct {
	ID     int64  `db:"id" cache:"pk"`
	NextID *int64 `db:"next_id" cache:"fk=Node"`
}
