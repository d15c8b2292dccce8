// Package netguard is the one way CityEye reaches addresses that users name
// (alert webhooks, GA/T 1400 notification receivers, downloaded videos): an HTTP
// client whose dialer refuses loopback, private, link-local, unspecified,
// multicast, CGNAT and other special-purpose destinations in every spelling. The
// check runs on the address actually connected to, after DNS resolution (the
// dialer's Control hook), so a name that resolves, or re-resolves, to an internal
// address gets nowhere. An administrator allows specific internal targets
// explicitly. It imports nothing of the project.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// ErrBlocked is returned for a destination the policy does not allow.
var ErrBlocked = errors.New("netguard: destination not allowed")

// Guard is an outbound policy: global unicast destinations are allowed, every
// special-purpose range is refused unless an Allow entry names it. The zero value
// (and a nil *Guard) allows no internal destination.
type Guard struct {
	nets      []netip.Prefix          // internal networks allowed, any port
	addrPorts map[netip.AddrPort]bool // internal IP:port allowed
	names     map[string]bool         // "host:port" allowed by name, lower case
}

// New builds a guard from allow entries: a CIDR ("10.20.0.0/16"), an IP
// ("10.20.0.5"), an IP and port ("10.20.0.5:8443", "[fd00::5]:443") or a host
// name and port ("cascade.internal:80", trusted as named: the admin vouches for
// what it resolves to).
func New(allow []string) (*Guard, error) {
	g := &Guard{addrPorts: map[netip.AddrPort]bool{}, names: map[string]bool{}}
	for _, e := range allow {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			g.nets = append(g.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		if ap, err := netip.ParseAddrPort(e); err == nil {
			g.addrPorts[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
			continue
		}
		host, port, err := net.SplitHostPort(e)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 || host == "" || strings.ContainsAny(host, "/%") {
			return nil, fmt.Errorf("outbound allow entry %q: want a CIDR, an IP, IP:port or host:port", e)
		}
		g.names[strings.ToLower(net.JoinHostPort(host, port))] = true
	}
	return g, nil
}

// MustNew is New for fixed entries (tests, defaults); it panics on a bad entry.
func MustNew(allow ...string) *Guard {
	g, err := New(allow)
	if err != nil {
		panic(err)
	}
	return g
}

// special lists the ranges that are not the public internet (RFC 6890 and
// successors). IPv4-mapped IPv6 addresses are unmapped before the check; the
// IPv6 ranges that embed an IPv4 address (IPv4-compatible, NAT64, 6to4, Teredo)
// are refused outright.
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/96", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
		"2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Internal reports whether a is not a public unicast address.
func Internal(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return true
	}
	for _, p := range special {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Allowed reports whether the guard lets a connection reach ap.
func (g *Guard) Allowed(ap netip.AddrPort) bool {
	a := ap.Addr().Unmap().WithZone("")
	if !Internal(a) {
		return true
	}
	if g == nil {
		return false
	}
	if g.addrPorts[netip.AddrPortFrom(a, ap.Port())] {
		return true
	}
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowedName reports whether hostport ("name:port" as the URL gave it) is an
// allow entry by name.
func (g *Guard) allowedName(hostport string) bool {
	return g != nil && g.names[strings.ToLower(hostport)]
}

// CheckLiteral refuses, before any connection, a host that is an IP literal the
// guard does not allow (a quick answer at configuration time; names are checked
// when connecting, never resolved here, so this is no DNS oracle).
func (g *Guard) CheckLiteral(host string, port uint16) error {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return nil
	}
	if !g.Allowed(netip.AddrPortFrom(a, port)) {
		return ErrBlocked
	}
	return nil
}

// control is the dialer's Control hook: it sees the resolved address of every
// connection attempt, so no spelling or rebinding of a name gets past it.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.Allowed(ap) {
		return ErrBlocked
	}
	return nil
}

// DialContext dials through the guard: a host:port allowed by name is dialled as
// named, everything else only where Control admits the resolved address.
func (g *Guard) dialContext(d net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	guarded := d
	guarded.Control = g.control
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if g.allowedName(addr) {
			return d.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// Resolve is the guard for a client that connects by itself (FFmpeg opening a
// camera stream): it resolves host, refuses it unless every address it resolves to
// is allowed, and returns the address to connect to, so that the caller dials that
// address and a name cannot re-resolve elsewhere in between. A host allowed by name
// ("host:port" entry) comes back unresolved (a zero Addr: connect by name).
func (g *Guard) Resolve(ctx context.Context, host string, port uint16) (netip.Addr, error) {
	host = strings.Trim(host, "[]")
	if g.allowedName(net.JoinHostPort(host, strconv.Itoa(int(port)))) {
		return netip.Addr{}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, ErrBlocked
	}
	for _, a := range addrs {
		if !g.Allowed(netip.AddrPortFrom(a, port)) {
			return netip.Addr{}, ErrBlocked
		}
	}
	return addrs[0].Unmap(), nil
}
