package consistency

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy between one runtime's Redis client and the server,
// with the faults a network adds: it can drop every connection, refuse new
// ones, hold everything in flight (a partition, ended by dropping the
// connections it froze), and delay each chunk of bytes (past the client's
// timeout, the command still reaches the server, late).
type Proxy struct {
	ln       net.Listener
	upstream string

	refuse    atomic.Bool
	partition atomic.Bool
	delay     atomic.Int64 // nanoseconds added to every chunk, each direction

	mu    sync.Mutex
	conns map[*proxyConn]struct{}
	wg    sync.WaitGroup
	done  chan struct{}
}

type proxyConn struct {
	client, server net.Conn
	frozen         atomic.Bool
	pumps          atomic.Int32 // pumps finished
	once           sync.Once
}

// kill closes both ends at once, discarding what is in flight.
func (c *proxyConn) kill() {
	c.once.Do(func() {
		for _, n := range []net.Conn{c.client, c.server} {
			if tc, ok := n.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = n.Close()
		}
	})
}

// NewProxy listens on a free port of 127.0.0.1 and forwards to upstream.
func NewProxy(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, upstream: upstream, conns: map[*proxyConn]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() {
	close(p.done)
	_ = p.ln.Close()
	p.Drop()
	p.wg.Wait()
}

// Drop closes every connection, with a reset.
// SetUpstream sends the connections made from now on to addr (a failover).
func (p *Proxy) SetUpstream(addr string) {
	p.mu.Lock()
	p.upstream = addr
	p.mu.Unlock()
}

func (p *Proxy) Drop() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// SetRefuse makes the proxy reset new connections (and drops the open
// ones when it starts), as a server that went away.
func (p *Proxy) SetRefuse(on bool) {
	p.refuse.Store(on)
	if on {
		p.Drop()
	}
}

// SetPartition freezes every connection: nothing is forwarded either way.
// Ending it drops the frozen connections, as their peers would time out.
func (p *Proxy) SetPartition(on bool) {
	p.partition.Store(on)
	p.mu.Lock()
	var frozen []*proxyConn
	for c := range p.conns {
		if on {
			c.frozen.Store(true)
		} else if c.frozen.Load() {
			frozen = append(frozen, c)
		}
	}
	p.mu.Unlock()
	for _, c := range frozen {
		c.kill()
	}
}

// SetDelay delays every chunk by d (0: none).
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
				time.Sleep(time.Millisecond)
				continue
			}
		}
		if p.refuse.Load() {
			if tc, ok := client.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		upstream := p.upstream
		p.mu.Unlock()
		server, err := net.DialTimeout("tcp", upstream, time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		c := &proxyConn{client: client, server: server}
		c.frozen.Store(p.partition.Load())
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(c, client, server)
		go p.pump(c, server, client)
	}
}

type chunk struct {
	due  time.Time
	data []byte
}

// pump forwards src to dst, chunk by chunk, in order, each after the delay
// in force when it was read. A frozen connection forwards nothing.
func (p *Proxy) pump(c *proxyConn, src, dst net.Conn) {
	defer p.wg.Done()
	queue := make(chan chunk, 1024)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for ch := range queue {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d)
			}
			if c.frozen.Load() {
				continue
			}
			if _, err := dst.Write(ch.data); err != nil {
				c.kill()
				for range queue {
				}
				return
			}
		}
		// The source closed: what was in flight is delivered, then the
		// other side learns it.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.frozen.Load() {
			queue <- chunk{due: time.Now().Add(time.Duration(p.delay.Load())), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-writerDone
	if c.pumps.Add(1) == 2 {
		c.kill()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}
}
