package main

import (
	"strings"
	"testing"
)

// The view library's own ID must be a 20-digit GB/T 28181 ID: a bad one stops the
// start, naming the setting.
func TestVIIDServerIDChecked(t *testing.T) {
	for id, ok := range map[string]bool{"": true, "44150000005030000042": true, "4415000000503000004": false, "44150000005030000O42": false} {
		_, _, err := serveConfig{VIIDServerID: id}.security()
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "viid_server_id")) {
			t.Errorf("viid_server_id %q: %v", id, err)
		}
	}
}
