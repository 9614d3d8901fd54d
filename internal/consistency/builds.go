package consistency

import (
	"context"
	"fmt"

	"github.com/cachegen/cachegen/internal/checkmodel"
	v2 "github.com/cachegen/cachegen/internal/checkmodel/v2"
	"github.com/cachegen/cachegen/runtime"
	"github.com/jmoiron/sqlx"
)

// accounts is what the workload calls on one runtime's repositories,
// whichever build of the model generated them, with rows as Row.
type accounts interface {
	// Wide reports whether the build maps the nickname column.
	Wide() bool
	GetByID(ctx context.Context, id int64) (*Row, error)
	GetByEmail(ctx context.Context, email string) (*Row, error)
	GetByOrgHandle(ctx context.Context, org int64, handle string) (*Row, error)
	// GetByVersion reads by the unique version, which only the second
	// build declares (the first fails).
	GetByVersion(ctx context.Context, version int64) (*Row, error)
	// GetByIDs and GetByEmails are the batch reads; LoadAccount and
	// LoadAccounts read through the loaders of a Session whose AccountID is
	// id, in the registry NewRepos wired.
	GetByIDs(ctx context.Context, ids []int64) ([]*Row, error)
	GetByEmails(ctx context.Context, emails []string) ([]*Row, error)
	LoadAccount(ctx context.Context, id int64) (*Row, error)
	LoadAccounts(ctx context.Context, ids []int64) ([]*Row, error)
	All(ctx context.Context) ([]Row, error)
	Save(ctx context.Context, r Row) error
	Delete(ctx context.Context, id int64) error
	InvalidateRows(ctx context.Context, rows ...Row) error
	WithTx(tx *runtime.Tx) accounts
	Stats() runtime.Stats
}

// build is one generated version of the model. The first is
// internal/checkmodel; the second, internal/checkmodel/v2, maps the same
// table with the nickname column more, as the next build of a rolling
// deploy that adds a column does.
type build struct {
	name string
	// open returns the repositories of the build on db and store, wired
	// through a registry of their own (NewRepos).
	open func(db *sqlx.DB, store runtime.Store, opts ...runtime.Option) (accounts, error)
}

var builds = [2]build{
	{name: "checkmodel", open: func(db *sqlx.DB, store runtime.Store, opts ...runtime.Option) (accounts, error) {
		rs, err := checkmodel.NewRepos(db, store, opts...)
		if err != nil {
			return nil, err
		}
		return &repos[checkmodel.Account, *checkmodel.AccountRepo, checkmodel.Session, *checkmodel.SessionRepo]{
			accounts: rs.Accounts, sessions: rs.Sessions, shape: shapeV1}, nil
	}},
	{name: "checkmodel/v2", open: func(db *sqlx.DB, store runtime.Store, opts ...runtime.Option) (accounts, error) {
		rs, err := v2.NewRepos(db, store, opts...)
		if err != nil {
			return nil, err
		}
		return &repos[v2.Account, *v2.AccountRepo, v2.Session, *v2.SessionRepo]{
			accounts: rs.Accounts, sessions: rs.Sessions, shape: shapeV2, byVersion: rs.Accounts.GetByVersion}, nil
	}},
}

var shapeV1 = shape[checkmodel.Account, checkmodel.Session]{
	row: func(a *checkmodel.Account) Row {
		return Row{ID: a.ID, Email: a.Email, Org: a.Org, Handle: a.Handle, Version: a.Version}
	},
	account: func(r Row) *checkmodel.Account {
		return &checkmodel.Account{ID: r.ID, Email: r.Email, Org: r.Org, Handle: r.Handle, Version: r.Version}
	},
	session: func(id int64) *checkmodel.Session { return &checkmodel.Session{ID: id, AccountID: id} },
}

var shapeV2 = shape[v2.Account, v2.Session]{
	wide: true,
	row: func(a *v2.Account) Row {
		r := Row{ID: a.ID, Email: a.Email, Org: a.Org, Handle: a.Handle, Version: a.Version}
		if a.Nickname != nil {
			r.Nick = *a.Nickname
		}
		return r
	},
	account: func(r Row) *v2.Account {
		a := &v2.Account{ID: r.ID, Email: r.Email, Org: r.Org, Handle: r.Handle, Version: r.Version}
		if r.Nick != "" {
			a.Nickname = &r.Nick
		}
		return a
	},
	session: func(id int64) *v2.Session { return &v2.Session{ID: id, AccountID: id} },
}

// nick is the nickname a write of the second build gives the row it
// writes: derived from its version, so that a read shows whether the
// nickname came with its row.
func nick(version int64) string { return fmt.Sprintf("n%d", version) }

// shape converts between a build's types and Row.
type shape[A, S any] struct {
	wide    bool
	row     func(*A) Row
	account func(Row) *A
	session func(accountID int64) *S
}

// accountRepo is the generated Account repository of a build, A its
// Account type.
type accountRepo[A, R any] interface {
	GetByID(context.Context, int64) (*A, error)
	GetByEmail(context.Context, string) (*A, error)
	GetByOrgHandle(context.Context, int64, string) (*A, error)
	GetByIDs(context.Context, []int64) ([]*A, error)
	GetByEmails(context.Context, []string) ([]*A, error)
	All(context.Context) ([]*A, error)
	Save(context.Context, *A) error
	Delete(context.Context, int64) error
	InvalidateRows(context.Context, ...*A) error
	WithTx(*runtime.Tx) R
	Stats() runtime.Stats
}

// sessionRepo is the generated Session repository of a build: its
// loaders of the Account a session references.
type sessionRepo[A, S any] interface {
	LoadAccount(context.Context, *S) (*A, error)
	LoadAccounts(context.Context, []*S) ([]*A, error)
}

// repos is accounts for one build.
type repos[A any, R accountRepo[A, R], S any, SR sessionRepo[A, S]] struct {
	accounts R
	sessions SR
	shape    shape[A, S]
	// byVersion is the second build's read by version (nil in the first)
	byVersion func(context.Context, int64) (*A, error)
}

func (r *repos[A, R, S, SR]) one(a *A, err error) (*Row, error) {
	if err != nil {
		return nil, err
	}
	row := r.shape.row(a)
	return &row, nil
}

func (r *repos[A, R, S, SR]) many(list []*A, err error) ([]*Row, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*Row, len(list))
	for i, a := range list {
		if a != nil {
			row := r.shape.row(a)
			out[i] = &row
		}
	}
	return out, nil
}

func (r *repos[A, R, S, SR]) Wide() bool { return r.shape.wide }

func (r *repos[A, R, S, SR]) GetByID(ctx context.Context, id int64) (*Row, error) {
	return r.one(r.accounts.GetByID(ctx, id))
}

func (r *repos[A, R, S, SR]) GetByEmail(ctx context.Context, email string) (*Row, error) {
	return r.one(r.accounts.GetByEmail(ctx, email))
}

func (r *repos[A, R, S, SR]) GetByOrgHandle(ctx context.Context, org int64, handle string) (*Row, error) {
	return r.one(r.accounts.GetByOrgHandle(ctx, org, handle))
}

func (r *repos[A, R, S, SR]) GetByVersion(ctx context.Context, version int64) (*Row, error) {
	if r.byVersion == nil {
		return nil, fmt.Errorf("build %T declares no index on version", r.accounts)
	}
	return r.one(r.byVersion(ctx, version))
}

func (r *repos[A, R, S, SR]) GetByIDs(ctx context.Context, ids []int64) ([]*Row, error) {
	return r.many(r.accounts.GetByIDs(ctx, ids))
}

func (r *repos[A, R, S, SR]) GetByEmails(ctx context.Context, emails []string) ([]*Row, error) {
	return r.many(r.accounts.GetByEmails(ctx, emails))
}

func (r *repos[A, R, S, SR]) LoadAccount(ctx context.Context, id int64) (*Row, error) {
	return r.one(r.sessions.LoadAccount(ctx, r.shape.session(id)))
}

func (r *repos[A, R, S, SR]) LoadAccounts(ctx context.Context, ids []int64) ([]*Row, error) {
	sessions := make([]*S, len(ids))
	for i, id := range ids {
		sessions[i] = r.shape.session(id)
	}
	return r.many(r.sessions.LoadAccounts(ctx, sessions))
}

func (r *repos[A, R, S, SR]) All(ctx context.Context) ([]Row, error) {
	list, err := r.accounts.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(list))
	for i := range list {
		out[i] = r.shape.row(list[i])
	}
	return out, nil
}

func (r *repos[A, R, S, SR]) Save(ctx context.Context, row Row) error {
	return r.accounts.Save(ctx, r.shape.account(row))
}

func (r *repos[A, R, S, SR]) Delete(ctx context.Context, id int64) error {
	return r.accounts.Delete(ctx, id)
}

func (r *repos[A, R, S, SR]) InvalidateRows(ctx context.Context, rows ...Row) error {
	as := make([]*A, len(rows))
	for i, row := range rows {
		as[i] = r.shape.account(row)
	}
	return r.accounts.InvalidateRows(ctx, as...)
}

func (r *repos[A, R, S, SR]) WithTx(tx *runtime.Tx) accounts {
	return &repos[A, R, S, SR]{accounts: r.accounts.WithTx(tx), sessions: r.sessions, shape: r.shape}
}

func (r *repos[A, R, S, SR]) Stats() runtime.Stats { return r.accounts.Stats() }
