package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
)

// Issue 14 item 17: tokens expire by default, the bootstrap administrator's too, and
// the public health check says up or down without the database's error text.

func TestTokensExpireByDefault(t *testing.T) {
	f := newFixture(t)
	out := f.must("POST", "/api/v1/users/market_op/tokens", "market_admin", `{"name":"laptop"}`, 201)
	exp, err := time.Parse(time.RFC3339, out["expires_at"].(string))
	if err != nil || !exp.Equal(f.now.Add(api.DefaultTokenLifetime)) {
		t.Fatalf("default expiry %v (%v), want %v", out["expires_at"], err, f.now.Add(api.DefaultTokenLifetime))
	}
	f.tok["laptop"] = out["token"].(string)
	f.must("GET", "/api/v1/me", "laptop", "", 200)
	f.now = f.now.Add(api.DefaultTokenLifetime + time.Hour)
	if code, _ := f.do("GET", "/api/v1/me", "laptop", ""); code != 401 {
		t.Fatalf("a token past its default lifetime: %d, want 401", code)
	}
	// the bootstrap administrator's token, created at start-up, expires as well
	ts, err := f.db.ListTokens(context.Background(), "admin")
	if err != nil || len(ts) != 1 || ts[0].ExpiresAt.IsZero() || ts[0].ExpiresAt.After(time.Now().Add(api.DefaultTokenLifetime)) {
		t.Fatalf("bootstrap token: %+v %v, want an expiry within %v", ts, err, api.DefaultTokenLifetime)
	}
}

func TestHealthSaysOnlyUpOrDown(t *testing.T) {
	f := newFixture(t)
	get := func() (int, map[string]any) {
		resp, err := http.Get(f.url + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := get(); code != 200 || len(out) != 1 || out["status"] != "up" {
		t.Fatalf("healthy: %d %v, want 200 {status: up} only", code, out)
	}
	// the database goes away: the answer says so and nothing about why or where
	f.db.Close()
	if code, out := get(); code != 503 || len(out) != 1 || out["status"] != "down" {
		t.Fatalf("database down: %d %v, want 503 {status: down} only", code, out)
	}
}
