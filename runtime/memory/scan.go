package memory

import (
	"context"
	"strings"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.KeyScanner = (*Store)(nil)

// ScanKeys calls fn with every key that starts with prefix.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	for k := range s.c.Keys() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}
