package consistency

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server of the checker's own, on a free port, so
// that flushing and restarting it touches nobody else's keys. It keeps
// nothing on disk: a restart comes back empty.
type RedisServer struct {
	bin  string
	port int
	dir  string
	args []string // more redis-server arguments
	cmd  *exec.Cmd
	wait chan error
}

// StartRedis starts bin (redis-server when empty) on a free port, with
// args added to its command line (--replicaof, say).
func StartRedis(bin string, args ...string) (*RedisServer, error) {
	path, err := exec.LookPath(redisBin(bin))
	if err != nil {
		return nil, fmt.Errorf("the Redis faults need a redis-server of their own: %w", err)
	}
	dir, err := os.MkdirTemp("", "cachecheck-redis-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &RedisServer{bin: path, port: port, dir: dir, args: args}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// redisBin is the redis-server binary bin names: bin, or redis-server
// from PATH when empty.
func redisBin(bin string) string {
	if bin == "" {
		return "redis-server"
	}
	return bin
}

// Addr is the server's address.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *RedisServer) start() error {
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "",
		"--maxmemory-policy", "noeviction")
	s.cmd.Args = append(s.cmd.Args, s.args...)
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.wait = make(chan error, 1)
	cmd := s.cmd
	go func() { s.wait <- cmd.Wait() }()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d did not answer: %w", s.port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *RedisServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.wait
		s.cmd = nil
	}
}

// Restart kills the server and, after down, starts it again: empty, or
// from the snapshot a SAVE left in its directory.
func (s *RedisServer) Restart(down time.Duration) error {
	s.kill()
	time.Sleep(down)
	return s.start()
}

// Stop kills the server and removes its directory.
func (s *RedisServer) Stop() {
	s.kill()
	os.RemoveAll(s.dir)
}
