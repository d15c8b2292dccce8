package main

import (
	"net"
	"testing"
)

// Followers forward heartbeats to the URL the leader advertises: the configured
// one, else its listen address, with its host name where it listens on every
// address (0.0.0.0 reaches nobody).
func TestAdvertiseURL(t *testing.T) {
	for _, c := range []struct {
		configured, listen, want string
	}{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "0.0.0.0:8080", "http://api-3:8080"},
		{"", "[::]:9000", "http://api-3:9000"},
		{"https://api3.city.example/", "0.0.0.0:8080", "https://api3.city.example"},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := advertiseURL(c.configured, a, "api-3"); got != c.want {
			t.Errorf("advertiseURL(%q, %s) = %q, want %q", c.configured, c.listen, got, c.want)
		}
	}
}
