// Package httpcache answers conditional GET requests from the rows a page
// shows, before the page renders: a handler declares the rows (through
// engine.Table's Validator, read from the cache with no database query
// when the rows are cached) and what the page varies on, and NotModified
// sets ETag, Vary and Cache-Control and answers 304 when the browser's copy
// is current.
//
// A write invalidates its rows' cached values, so the next validator read
// refills them with the new row and the ETag changes at once: there is no
// dependency table to keep.
//
// Safe defaults: a page varies on Cookie and Authorization, its ETag hashes
// their values (a 304 is never given to a visitor with other credentials),
// and it is sent "Cache-Control: private, no-cache" (shared caches do not
// keep it; browsers revalidate every time, since a row may change at any
// moment). Only a page that calls Public drops the credentials from its
// ETag and is sent "public, max-age=N".
//
// Cache, optional, keeps rendered pages in the repositories' store under
// the request's host and URI and the page's ETag: a write changes the key,
// so a kept page is never served after it, and nothing is invalidated. It
// also remembers which rows each ETag it sent was made from, so that
// Revalidate answers the browser's next conditional GET before the handler
// runs, reading all those rows again in one store round trip.
package httpcache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/runtime"
)

// credentials are the headers every page varies on unless it is Public.
var credentials = []string{"Authorization", "Cookie"}

// Page collects what a response depends on. Make one per request with New,
// declare the rows (Row), the headers (VaryOnHeaders, VaryOnCookie) and a
// version, then call NotModified before rendering.
type Page struct {
	r        *http.Request
	version  string
	h        hash.Hash
	rows     []runtime.Validator
	vary     []string // canonical names, beyond the credentials
	explicit bool     // the page itself asked to vary on a credential
	public   bool
	maxAge   time.Duration
	err      error
}

// New starts the page of r; version is the handler's own part of the ETag
// (change it when the template or the rendering code changes).
func New(r *http.Request, version string) *Page {
	p := &Page{r: r, version: version, h: sha256.New()}
	p.add("v", version)
	return p
}

// add hashes name and value with their lengths, so that no two lists of
// parts hash alike.
func (p *Page) add(name, value string) {
	var n [8]byte
	for _, s := range [2]string{name, value} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		p.h.Write(n[:])
		p.h.Write([]byte(s))
	}
}

// Row declares a row the page shows, by its validator: pass the result of
// a generated repository's Validator directly, as in
// p.Row(users.Validator(user, err)) where user, err came from a getter, and
// render that same row. (A page that read the row again while rendering
// could show a newer version than its ETag names; were the row written
// back to the first content, A then B then A, the browser holding B would
// be told 304.) An error makes the page uncacheable (NotModified returns
// false and sends no ETag); Err returns it.
func (p *Page) Row(v runtime.Validator, err error) {
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		return
	}
	p.rows = append(p.rows, v)
	p.add("row", v.String())
}

// Err is the first error a Row declaration received.
func (p *Page) Err() error { return p.err }

// VaryOnHeaders declares request headers the page depends on (like
// Django's vary_on_headers): they are sent in Vary and their values enter
// the ETag. Naming Cookie or Authorization keeps the page private even if
// it calls Public.
func (p *Page) VaryOnHeaders(names ...string) {
	for _, n := range names {
		n = http.CanonicalHeaderKey(n)
		if slices.Contains(credentials, n) {
			p.explicit = true
			continue
		}
		if !slices.Contains(p.vary, n) {
			p.vary = append(p.vary, n)
		}
	}
}

// VaryOnCookie declares that the page depends on the visitor's cookies
// (like Django's vary_on_cookie): it stays private even if it calls Public.
func (p *Page) VaryOnCookie() { p.VaryOnHeaders("Cookie") }

// Public declares the page the same for every visitor, whatever their
// cookies or credentials: shared caches may keep it for maxAge. It is
// ignored (the page stays private) when the page asked to vary on Cookie or
// Authorization.
func (p *Page) Public(maxAge time.Duration) {
	p.public = true
	p.maxAge = maxAge
}

// shared reports whether the page may be kept by shared caches.
func (p *Page) shared() bool { return p.public && !p.explicit }

// ETag is the page's entity tag: a weak tag (a proxy may compress the
// body) over the version, the rows' validators and the values of the
// headers the page varies on. It is empty when a Row declaration failed.
func (p *Page) ETag() string {
	if p.err != nil {
		return ""
	}
	h := sha256.New()
	h.Write(p.h.Sum(nil))
	var n [8]byte
	for _, name := range p.varyOn() {
		vals := p.r.Header.Values(name)
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(vals)))
		h.Write(n[:])
		for _, v := range vals {
			binary.BigEndian.PutUint64(n[:], uint64(len(v)))
			h.Write(n[:])
			h.Write([]byte(v))
		}
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// varyOn is every header the page varies on, sorted.
func (p *Page) varyOn() []string {
	names := slices.Clone(p.vary)
	if !p.shared() {
		names = append(names, credentials...)
	}
	slices.Sort(names)
	return names
}

// NotModified sets the page's ETag, Vary and Cache-Control on w and, for a
// GET or HEAD whose If-None-Match holds the ETag, answers 304 Not Modified
// and returns true: the handler then returns without rendering. Otherwise
// the handler renders as usual. A page whose Row declaration failed is sent
// "Cache-Control: no-store" and no ETag.
func (p *Page) NotModified(w http.ResponseWriter) bool { return p.answer(w, p.ETag()) }

// answer is NotModified with the page's ETag already computed.
func (p *Page) answer(w http.ResponseWriter, etag string) bool {
	hd := w.Header()
	if names := p.varyOn(); len(names) > 0 {
		hd.Set("Vary", strings.Join(names, ", "))
	}
	if etag == "" {
		hd.Set("Cache-Control", "no-store")
		return false
	}
	if p.shared() {
		hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(p.maxAge/time.Second)))
	} else {
		hd.Set("Cache-Control", "private, no-cache")
	}
	hd.Set("ETag", etag)
	if p.r.Method != http.MethodGet && p.r.Method != http.MethodHead {
		return false
	}
	if matches(p.r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// matches reports whether an If-None-Match list holds etag, by weak
// comparison (RFC 9110 13.1.2). "*" (any current representation) is not
// taken as a match: the page may be a 404 for a missing row, and browsers
// do not send it on a GET, so rendering is the safe answer.
func matches(lists []string, etag string) bool {
	opaque := strings.TrimPrefix(etag, "W/")
	for _, list := range lists {
		for tag := range strings.SplitSeq(list, ",") {
			tag = strings.TrimSpace(tag)
			if strings.TrimPrefix(tag, "W/") == opaque {
				return true
			}
		}
	}
	return false
}
