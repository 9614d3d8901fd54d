package memcached

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

var _ store.KeyScanner = (*Store)(nil)

const (
	// scanCommand walks the server's hash table, not its LRUs: the hash
	// walk visits every item linked for the whole walk once (it holds off
	// the table's growth and locks each bucket while it reads it), where
	// an LRU walk can miss an item that moves between LRUs meanwhile.
	scanCommand = "lru_crawler metadump hash\r\n"
	// scanBusyTries bounds the waits for a crawler another client (or the
	// server's own expiry crawl) is running.
	scanBusyTries = 50
	// scanIdle is how long a scan waits for the next line of the dump.
	scanIdle = 10 * time.Second
)

// ScanKeys calls fn with every key that starts with prefix, on every server
// of Options.Servers, with memcached's "lru_crawler metadump hash". The
// dump lists every key of the server, so a scan costs time in proportion
// to all the server holds, not to the keys it finds. Keys are read to the
// end of each server's dump before fn sees them, so that the server's
// crawler (one per server, which holds off the growth of its hash table
// while it runs) is freed at once. A hashed key (see the package doc)
// cannot be turned back into its key and is not reported: the runtime's
// keys are never hashed unless the prefix has bytes outside printable
// ASCII. A key may be reported whose entry is past its deadline.
func (s *Store) ScanKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	if s.servers == nil {
		return errors.New("memcached: ScanKeys needs Options.Servers, the selector of the client")
	}
	var addrs []net.Addr
	if err := s.servers.Each(func(a net.Addr) error {
		addrs = append(addrs, a)
		return nil
	}); err != nil {
		return fmt.Errorf("memcached: scan: %w", err)
	}
	for _, a := range addrs {
		keys, err := s.dump(ctx, a, prefix)
		if err != nil {
			return fmt.Errorf("memcached: scan %s: %w", a, err)
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// dump returns the keys of the server at addr that start with prefix.
func (s *Store) dump(ctx context.Context, addr net.Addr, prefix string) ([]string, error) {
	for try := 0; ; try++ {
		keys, busy, err := s.dumpOnce(ctx, addr, prefix)
		if err != nil || !busy {
			return keys, err
		}
		if try+1 >= scanBusyTries {
			return nil, fmt.Errorf("the server's crawler stayed busy over %d tries", scanBusyTries)
		}
		timer := time.NewTimer(min(10*time.Millisecond<<min(try, 5), 200*time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// dumpOnce runs one dump on a connection of its own (the client's pool
// has no use for a connection the crawler wrote to). busy reports that the
// server's crawler was already running.
func (s *Store) dumpOnce(ctx context.Context, addr net.Addr, prefix string) (keys []string, busy bool, err error) {
	dial := s.c.DialContext
	if dial == nil {
		timeout := s.c.Timeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		dial = (&net.Dialer{Timeout: timeout}).DialContext
	}
	nc, err := dial(ctx, addr.Network(), addr.String())
	if err != nil {
		return nil, false, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	nc.SetDeadline(time.Now().Add(scanIdle))
	if _, err := nc.Write([]byte(scanCommand)); err != nil {
		return nil, false, ctxOr(ctx, err)
	}
	r := bufio.NewReaderSize(nc, 64<<10)
	first := true
	for {
		nc.SetReadDeadline(time.Now().Add(scanIdle))
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, false, ctxOr(ctx, err)
		}
		line = bytes.TrimSuffix(line, []byte("\r\n"))
		switch {
		case bytes.Equal(line, []byte("END")):
			return keys, false, nil
		case first && bytes.HasPrefix(line, []byte("BUSY")):
			return nil, true, nil
		case bytes.HasPrefix(line, []byte("key=")):
			mk, _, _ := bytes.Cut(line[len("key="):], []byte(" "))
			raw, err := url.PathUnescape(string(mk))
			if err != nil {
				continue // not a key this package wrote
			}
			if key, ok := decodeKey(raw); ok && strings.HasPrefix(key, prefix) {
				keys = append(keys, key)
			}
		case first && (bytes.HasPrefix(line, []byte("ERROR")) || bytes.HasPrefix(line, []byte("CLIENT_ERROR")) ||
			bytes.HasPrefix(line, []byte("SERVER_ERROR")) || bytes.HasPrefix(line, []byte("BADCLASS"))):
			return nil, false, fmt.Errorf("lru_crawler metadump: %s (memcached 1.6 or later with its LRU crawler on is needed)", line)
		}
		first = false
	}
}

// ctxOr returns ctx's error when ctx is done (it closed the connection),
// else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
