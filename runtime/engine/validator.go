// Validators: a short string that changes whenever a row does, for HTTP caching (runtime/httpcache).

package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// NoRow is the validator of a row that does not exist.
const NoRow = "-"

// Validator is a row's part of an ETag: String is a hash of the row's
// cached form. The Validator of a row that exists also names the row's
// primary key in its table's cache, so that Revalidate can read it again
// later, with the other rows of a page, in one store round trip.
type Validator struct {
	sum string
	src revalidator // nil: NoRow, or a table without a store
	key string      // the row's primary key in the cache
}

// String is the validator itself: NoRow for a missing row, else a hash.
func (v Validator) String() string { return v.sum }

// Validator returns a validator of the row whose index i (0: the primary
// key) has the values in probe: a hash of the row's cached form (its
// schema and encoded columns), so it changes as soon as a write changes the
// row. It is read like Get: from the near cache or the store when they hold
// the row, with no database query, otherwise with one read that fills the
// cache. A row that does not exist has the validator NoRow.
//
// The hash is SHA-256, not the value header's CRC-32C: a validator that
// collided after a write would let a browser keep a stale page.
func (t *Table[T]) Validator(ctx context.Context, i int, probe *T) (Validator, error) {
	return t.ValidatorOf(t.Get(ctx, i, probe))
}

// ValidatorOf returns the validator of a row a getter returned, with the
// getter's error: NoRow for ErrNotFound, the error itself for any other.
// A page that renders the very row it took the validator of can never
// show content other than the validator names, whatever writes run
// meanwhile (runtime/httpcache's page cache relies on it).
func (t *Table[T]) ValidatorOf(row *T, err error) (Validator, error) {
	if errors.Is(err, ErrNotFound) {
		return Validator{sum: NoRow}, nil
	}
	if err != nil {
		return Validator{}, err
	}
	sum, err := t.sum(row)
	if err != nil {
		return Validator{}, err
	}
	v := Validator{sum: sum}
	if t.store != nil {
		v.src, v.key = t, t.Key(0, row)
		if t.tx != nil {
			v.src = &Table[T]{state: t.state} // read again outside the transaction
		}
	}
	return v, nil
}

// sum is the hash of row's cached form.
func (t *Table[T]) sum(row *T) (string, error) {
	b, err := t.spec.Mapper.Encode(append(make([]byte, 0, 128), t.header[1:5]...), row)
	if err != nil {
		return "", fmt.Errorf("cachegen: encode %s row: %w", t.spec.Table, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}
