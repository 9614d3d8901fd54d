//go:build !cachegen_nolegacy

package buildtag

// Ticket is left out of a build with the cachegen_nolegacy tag, and so is
// its generated file.
type Ticket struct {
	ID    int64  `db:"id" cache:"pk"`
	Title string `db:"title"`
}
