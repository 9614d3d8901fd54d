package httpcache

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
)

// Revalidate answers p's request 304 before the handler reads any row, when
// the browser's ETag is one this Cache sent for the same host and URI and
// the rows it was made from are unchanged: it reads those rows again in one
// store round trip (none for rows the near cache holds), whatever their
// number and table, and hashes them as Page does. It returns true when it
// answered; otherwise the handler reads its rows and calls Serve as usual
// (a row the cache does not hold, or a changed one, is read through its
// repository, hence from the database if need be).
//
// Call it right after New, before declaring rows. Why its 304 is the
// handler's: the tag was sent for this URI, from the rows under these keys
// and the values of the headers the page varies on. When hashing the rows
// those keys hold now with this request's header values gives the same
// tag, the handler would read the same keys (each chosen from the URI,
// those headers and the rows before it, as Serve's contract has it: a
// post's author from the post), get the same rows and send the same tag.
// So a row the page shows because of another needs no declaration up
// front, and a visitor with other cookies gets no 304 for a private
// page's tag.
//
// The Cache remembers the rows of the last ETags it sent (Remember in
// CacheOptions), in process: after a restart, or on another server, the
// first revalidation of each page runs the handler. A page that shows a
// missing row (runtime.NoRow) is not remembered. A nil Cache returns false.
func (c *Cache) Revalidate(w http.ResponseWriter, p *Page) bool {
	if c == nil || c.sent == nil || (p.r.Method != http.MethodGet && p.r.Method != http.MethodHead) {
		return false
	}
	n := 0
	for _, list := range p.r.Header.Values("If-None-Match") {
		for tag := range strings.SplitSeq(list, ",") {
			if n++; n > maxRevalidatedTags {
				return false
			}
			sent, ok := c.sent.get(sentKeyOf(p.r, strings.TrimSpace(tag)))
			if !ok {
				continue
			}
			rows, ok := engine.Revalidate(p.r.Context(), sent.rows)
			if !ok {
				c.n.revalidationMisses.Add(1)
				return false
			}
			q := New(p.r, p.version)
			for _, v := range rows {
				q.Row(v, nil)
			}
			q.vary, q.explicit, q.public, q.maxAge = sent.vary, sent.explicit, sent.public, sent.maxAge
			if etag := q.ETag(); matches([]string{tag}, etag) && q.answer(w, etag) {
				c.n.revalidated.Add(1)
				return true
			}
			c.n.revalidationMisses.Add(1)
			return false
		}
	}
	return false
}

// maxRevalidatedTags bounds the If-None-Match tags Revalidate looks up: a
// browser sends one.
const maxRevalidatedTags = 4

// sentPage is what Revalidate needs of a page whose ETag was sent: the
// rows it showed and what else its ETag and headers depend on.
type sentPage struct {
	rows             []runtime.Validator
	vary             []string
	explicit, public bool
	maxAge           time.Duration
}

// remember keeps p's rows under the ETag etag, unless p shows a row no
// cache holds (a missing row names no key).
func (c *Cache) remember(p *Page, etag string) {
	if c.sent == nil {
		return
	}
	for _, v := range p.rows {
		if v.String() == engine.NoRow {
			return
		}
	}
	c.sent.put(sentKeyOf(p.r, etag), sentPage{rows: p.rows, vary: p.vary, explicit: p.explicit, public: p.public, maxAge: p.maxAge})
}

// sentKey names an ETag sent for a host and URI (weak or not: compared
// weakly, as If-None-Match is).
type sentKey struct{ host, uri, etag string }

func sentKeyOf(r *http.Request, etag string) sentKey {
	return sentKey{r.Host, r.URL.RequestURI(), strings.TrimPrefix(etag, "W/")}
}

// sentPages is a bounded map of sent ETags: when full, a new one replaces
// the oldest.
type sentPages struct {
	mu    sync.Mutex
	m     map[sentKey]sentPage
	order []sentKey // oldest at next once full
	next  int
	max   int
}

func newSentPages(max int) *sentPages {
	return &sentPages{m: make(map[sentKey]sentPage), max: max}
}

func (s *sentPages) get(key sentKey) (sentPage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[key]
	return p, ok
}

func (s *sentPages) put(key sentKey, p sentPage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok {
		s.m[key] = p
		return
	}
	if len(s.order) < s.max {
		s.order = append(s.order, key)
	} else {
		delete(s.m, s.order[s.next])
		s.order[s.next] = key
		s.next = (s.next + 1) % s.max
	}
	s.m[key] = p
}
