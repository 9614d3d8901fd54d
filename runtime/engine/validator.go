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

// Validator returns a validator of the row whose index i (0: the primary
// key) has the values in probe: a hash of the row's cached form (its
// schema and encoded columns), so it changes as soon as a write changes the
// row. It is read like Get: from the near cache or the store when they hold
// the row, with no database query, otherwise with one read that fills the
// cache. A row that does not exist has the validator NoRow.
//
// The hash is SHA-256, not the value header's CRC-32C: a validator that
// collided after a write would let a browser keep a stale page.
func (t *Table[T]) Validator(ctx context.Context, i int, probe *T) (string, error) {
	return t.ValidatorOf(t.Get(ctx, i, probe))
}

// ValidatorOf returns the validator of a row a getter returned, with the
// getter's error: NoRow for ErrNotFound, the error itself for any other.
// A page that renders the very row it took the validator of can never
// show content other than the validator names, whatever writes run
// meanwhile (runtime/httpcache's page cache relies on it).
func (t *Table[T]) ValidatorOf(row *T, err error) (string, error) {
	if errors.Is(err, ErrNotFound) {
		return NoRow, nil
	}
	if err != nil {
		return "", err
	}
	b, err := t.spec.Mapper.Encode(append(make([]byte, 0, 128), t.header[1:5]...), row)
	if err != nil {
		return "", fmt.Errorf("cachegen: encode %s row: %w", t.spec.Table, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}
