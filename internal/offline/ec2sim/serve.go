package ec2sim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve serves h on addr until ctx ends or stop is called, and returns the
// endpoint URL. stop closes the server once; later calls return the first
// call's error. The EC2 and ELBv2 simulators both serve this way.
func Serve(ctx context.Context, addr string, h http.Handler) (endpoint string, stop func() error, err error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stop = sync.OnceValue(srv.Close)
	context.AfterFunc(ctx, func() { _ = stop() })
	// Serve returns ErrServerClosed once stop has closed the server; any
	// other end shows to callers as refused connections.
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), stop, nil
}

// Server serves one handler until Close is called or the context given to
// Listen ends: the Start, Listen and Close the EC2 and ELBv2 simulators share.
type Server struct {
	mu sync.Mutex
	// stop closes the server Listen started, once; nil before Listen.
	stop func() error
}

// Listen serves h on addr, as Serve does, and returns the endpoint URL.
func (v *Server) Listen(ctx context.Context, addr string, h http.Handler) (string, error) {
	endpoint, stop, err := Serve(ctx, addr, h)
	if err != nil {
		return "", err
	}
	v.mu.Lock()
	v.stop = stop
	v.mu.Unlock()
	return endpoint, nil
}

// Close stops serving; before Listen, and after the context given to it
// ends, it has nothing left to do.
func (v *Server) Close() error {
	v.mu.Lock()
	stop := v.stop
	v.mu.Unlock()
	if stop == nil {
		return nil
	}
	return stop()
}
