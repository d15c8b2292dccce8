package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/netguard"
)

// The platform administrator's security settings of serve (import_dirs,
// outbound_allow, trusted_proxies, max_download_mib) and the view library's own ID: parsed and checked at start.

// splitList splits a comma-separated setting, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// security checks the administrator's security settings and puts them in the
// form the server takes: absolute import folders, a parsed outbound policy.
func (c serveConfig) security() (dirs []string, guard *netguard.Guard, err error) {
	for _, d := range c.ImportDirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, nil, fmt.Errorf("import_dirs %q: %w", d, err)
		}
		if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
			return nil, nil, fmt.Errorf("import_dirs %q: not a folder", d)
		}
		dirs = append(dirs, a)
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return nil, nil, fmt.Errorf("trusted_proxies %q: want an IP or a CIDR", p)
		}
	}
	if c.VIIDServerID != "" {
		if _, err := gat1400.ParseDeviceID(c.VIIDServerID); err != nil {
			return nil, nil, fmt.Errorf("viid_server_id %q: the view library's 20-digit GB/T 28181 ID: %v", c.VIIDServerID, err)
		}
	}
	if c.MaxDownloadMiB < 0 {
		return nil, nil, errors.New("max_download_mib: must not be negative")
	}
	guard, err = netguard.New(c.OutboundAllow)
	return dirs, guard, err
}
