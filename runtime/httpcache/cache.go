package httpcache

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// Cache is the optional server-side page cache: it keeps rendered pages in
// a runtime.Store (the one the repositories use) under a key made of the
// request's host and URI and the page's ETag, which covers the version, the
// rows' validators and the values of the headers the page varies on. A
// write changes a row's validator, hence the key, so a kept page is never
// served after a write: nothing is invalidated, the old entry just stops
// being asked for and expires (TTL). It is safe for concurrent use.
type Cache struct {
	store    runtime.Store
	prefix   string
	ttl      time.Duration
	maxBytes int
	sent     *sentPages // nil: Remember < 0
	n        struct {
		notModified, hits, renders, stored, notStored, storeErrors atomic.Uint64
		revalidated, revalidationMisses                            atomic.Uint64
	}
}

// CacheOptions configure a Cache. The zero value is usable.
type CacheOptions struct {
	// Prefix starts every key, then ":page:"; "httpcache" when empty. Give
	// each application sharing a store its own.
	Prefix string
	// TTL is how long a page is kept; 5 minutes when zero. A kept page is
	// never stale, so the TTL only bounds the memory of pages no longer
	// asked for.
	TTL time.Duration
	// MaxBytes is the largest body kept, in bytes; 256 KiB when zero. A
	// larger page is rendered every time. The store bounds the total (the
	// memory store's MaxBytes, Redis's maxmemory).
	MaxBytes int
	// Remember is how many sent ETags the cache remembers the rows of, for
	// Revalidate; 10,000 when zero, none when negative.
	Remember int
}

// CacheStats counts what a Cache did since it was made.
type CacheStats struct {
	NotModified uint64 // 304 answers, before any rendering
	Hits        uint64 // pages served from the store
	Renders     uint64 // pages rendered (no kept page, or an uncacheable one)
	Stored      uint64 // rendered pages kept
	NotStored   uint64 // rendered pages not kept: not a 200 GET, Set-Cookie, no-store, too large, or another request kept it first
	StoreErrors uint64 // store calls that failed (the page is rendered all the same)
	// Revalidated counts Revalidate's 304 answers, given before the handler
	// read a row; RevalidationMisses the remembered ETags it found whose
	// rows had changed or were not all in the cache.
	Revalidated, RevalidationMisses uint64
}

const (
	defaultPageTTL   = 5 * time.Minute
	defaultPageBytes = 256 << 10
	defaultRemember  = 10000
	// leaseTTL holds the key between the lease and the fill, which follow
	// each other once the page is rendered.
	leaseTTL = 10 * time.Second
	// pageMagic starts every kept page, so that other bytes under the key
	// read as a miss.
	pageMagic = "cgpage1\x00"
)

// NewCache returns a page cache on store. It fails on a nil store or a
// negative option.
func NewCache(store runtime.Store, opts CacheOptions) (*Cache, error) {
	if store == nil {
		return nil, errors.New("httpcache: NewCache: nil store")
	}
	if opts.TTL < 0 || opts.MaxBytes < 0 {
		return nil, fmt.Errorf("httpcache: NewCache: negative TTL (%v) or MaxBytes (%d)", opts.TTL, opts.MaxBytes)
	}
	c := &Cache{store: store, prefix: opts.Prefix, ttl: opts.TTL, maxBytes: opts.MaxBytes}
	if c.prefix == "" {
		c.prefix = "httpcache"
	}
	if c.ttl == 0 {
		c.ttl = defaultPageTTL
	}
	if c.maxBytes == 0 {
		c.maxBytes = defaultPageBytes
	}
	switch {
	case opts.Remember == 0:
		c.sent = newSentPages(defaultRemember)
	case opts.Remember > 0:
		c.sent = newSentPages(opts.Remember)
	}
	return c, nil
}

// Stats returns the cache's counters (zero for a nil Cache).
func (c *Cache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	return CacheStats{
		NotModified: c.n.notModified.Load(),
		Hits:        c.n.hits.Load(),
		Renders:     c.n.renders.Load(),
		Stored:      c.n.stored.Load(),
		NotStored:   c.n.notStored.Load(),
		StoreErrors: c.n.storeErrors.Load(),

		Revalidated:        c.n.revalidated.Load(),
		RevalidationMisses: c.n.revalidationMisses.Load(),
	}
}

// Serve answers p's request: 304 when the browser's copy is current (see
// Page.NotModified), else the page kept under p's key, else render's page,
// which is kept when it is a 200 answer to a GET, sets no cookie, is not
// marked no-store and fits in MaxBytes.
//
// render must show only the rows p declared, as read for their validators
// (render from the very rows passed to the repositories' Validator), and
// whatever else it shows must be in p's version or a header p varies on:
// then a kept page shows exactly what its key names.
//
// A nil Cache keeps no pages: it answers 304 or renders.
func (c *Cache) Serve(w http.ResponseWriter, p *Page, render func(http.ResponseWriter)) {
	if c == nil {
		if !p.NotModified(w) {
			render(w)
		}
		return
	}
	if p.NotModified(w) {
		c.n.notModified.Add(1)
		c.remember(p, p.ETag())
		return
	}
	etag := p.ETag()
	if etag == "" { // a row failed: the page is no-store
		c.n.renders.Add(1)
		render(w)
		return
	}
	c.remember(p, etag)
	ctx := p.r.Context()
	key := c.key(p.r, etag)
	e, err := c.store.Get(ctx, key)
	if err != nil {
		c.n.storeErrors.Add(1)
	} else if e.Kind == cachestore.CachedRow {
		if kept, ok := decodePage(e.Value); ok {
			c.n.hits.Add(1)
			kept.write(w, p.r.Method != http.MethodHead)
			return
		}
		// Not a page of ours: drop it so a rendered one can be kept.
		if err := c.store.Delete(ctx, key); err != nil {
			c.n.storeErrors.Add(1)
		}
	}
	c.n.renders.Add(1)
	rec := &recorder{ResponseWriter: w, max: c.maxBytes}
	render(rec)
	if p.r.Method != http.MethodGet || !rec.keepable() {
		c.n.notStored.Add(1)
		return
	}
	c.keep(ctx, key, rec)
}

// keep stores a rendered page under key if the key is free: a lease (set if
// absent), then the fill. Another request's page under the key is the same
// page, so losing the lease loses nothing.
func (c *Cache) keep(ctx context.Context, key string, rec *recorder) {
	token := rand.Text()
	ok, _, err := c.store.Lease(ctx, key, token, leaseTTL)
	if err != nil {
		c.n.storeErrors.Add(1)
		return
	}
	if !ok {
		c.n.notStored.Add(1)
		return
	}
	b := encodePage(rec.status(), rec.Header(), rec.body.Bytes())
	filled, err := c.store.Fill(ctx, key, token, cachestore.Entry{Kind: cachestore.CachedRow, Value: b}, c.ttl)
	switch {
	case err != nil:
		c.n.storeErrors.Add(1)
		if err := c.store.Release(ctx, key, token); err != nil {
			c.n.storeErrors.Add(1)
		}
	case filled:
		c.n.stored.Add(1)
	default:
		c.n.notStored.Add(1)
	}
}

// key is the store key of the page of r whose ETag is etag: the host and
// URI tell views apart, the ETag their versions and visitors.
func (c *Cache) key(r *http.Request, etag string) string {
	h := sha256.New()
	for _, s := range [...]string{r.Host, r.URL.RequestURI(), etag} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return c.prefix + ":page:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// recorder passes a render's response through to the client and keeps a
// copy of it, up to max bytes of body.
type recorder struct {
	http.ResponseWriter
	max   int
	code  int
	body  bytes.Buffer
	large bool
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if !r.large {
		if r.body.Len()+len(b) > r.max {
			r.large = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the client's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// keepable reports whether the rendered page may be kept: a whole 200 that
// sets no cookie (a kept Set-Cookie would hand one visitor's session to the
// next) and that the render did not mark no-store.
func (r *recorder) keepable() bool {
	h := r.Header()
	return r.status() == http.StatusOK && !r.large && len(h.Values("Set-Cookie")) == 0 &&
		!strings.Contains(strings.ToLower(h.Get("Cache-Control")), "no-store")
}

// skipped are the headers a kept page does not carry: Serve's Page sets
// the first three on every answer, the server the others.
var skipped = []string{"Cache-Control", "Etag", "Vary", "Content-Length", "Date"}

// keptPage is a decoded kept page.
type keptPage struct {
	status int
	header [][2]string
	body   []byte
}

// encodePage writes pageMagic, the status, the headers and the body, each
// string after its length (uvarint).
func encodePage(status int, h http.Header, body []byte) []byte {
	b := append(make([]byte, 0, len(pageMagic)+64+len(body)), pageMagic...)
	b = binary.AppendUvarint(b, uint64(status))
	var pairs [][2]string
	for name, vals := range h {
		if slices.Contains(skipped, name) {
			continue
		}
		for _, v := range vals {
			pairs = append(pairs, [2]string{name, v})
		}
	}
	b = binary.AppendUvarint(b, uint64(len(pairs)))
	for _, kv := range pairs {
		for _, s := range kv {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// decodePage reads what encodePage wrote; ok is false for any other bytes.
func decodePage(b []byte) (p keptPage, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(pageMagic))
	if !found {
		return p, false
	}
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, false
		}
		rest = rest[n:]
		return v, true
	}
	bytesOf := func() ([]byte, bool) {
		n, ok := next()
		if !ok || n > uint64(len(rest)) {
			return nil, false
		}
		s := rest[:n]
		rest = rest[n:]
		return s, true
	}
	status, ok := next()
	if !ok || status < 100 || status > 999 {
		return p, false
	}
	p.status = int(status)
	count, ok := next()
	if !ok || count > uint64(len(rest)) { // each pair takes two bytes at least
		return p, false
	}
	for range count {
		name, ok1 := bytesOf()
		val, ok2 := bytesOf()
		if !ok1 || !ok2 {
			return p, false
		}
		p.header = append(p.header, [2]string{string(name), string(val)})
	}
	if p.body, ok = bytesOf(); !ok || len(rest) != 0 {
		return p, false
	}
	return p, true
}

// write sends the kept page; body is false for a HEAD.
func (p keptPage) write(w http.ResponseWriter, body bool) {
	h := w.Header()
	for _, kv := range p.header {
		h.Add(kv[0], kv[1])
	}
	w.WriteHeader(p.status)
	if body {
		w.Write(p.body)
	}
}
