package hub

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// ErrUnreachable marks a failure to reach the endpoint at all: its name
// does not resolve, or nothing listens there. Retrying does not help, so
// such failures are not retried.
var ErrUnreachable = errors.New("cannot reach the Hub")

// unreachable reports whether err says the endpoint cannot be reached: a
// failed DNS lookup, a refused connection, no route to the host.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsTimeout
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH)
}

// unreachableError explains an unreachable endpoint, naming the settings
// that change where qilin looks and whether it looks at all.
func (c *Client) unreachableError(err error) error {
	cause := err
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		cause = dns
	case errors.As(err, &op):
		cause = op
	}
	return fmt.Errorf("hub: %w at %s (%v): check the network; HF_ENDPOINT=URL points qilin at a mirror, and QILIN_OFFLINE=1 uses only the models already in the store",
		ErrUnreachable, c.endpoint(), cause)
}
