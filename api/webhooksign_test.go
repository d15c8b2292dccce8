package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
)

// signedCall is one webhook call as the receiver got it.
type signedCall struct {
	h    http.Header
	body []byte
}

// Attack (issue 19 item 4): anyone who knows the map's webhook URL posts fake
// alerts to it, or sends a recorded call again, now or much later. Webhook calls
// are signed with the subscription's own secret (HMAC-SHA256 of timestamp and
// body); the reference verifier takes CityEye's real call and refuses a forged
// body, a signature made with another secret, a re-signed timestamp, the same call
// sent again, and a call whose timestamp is outside the window.
func TestWebhookSignedAndForgeriesRefused(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	var mu sync.Mutex
	var verified []signedCall
	var v *api.WebhookVerifier
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		verified = append(verified, signedCall{r.Header.Clone(), body})
	}))
	defer hook.Close()
	sub := f.must("POST", "/api/v1/alert-subscriptions", "police_op", `{"kinds":["fire.fire"],"receive_url":"`+hook.URL+`","report_interval_s":1}`, 201)
	secret, _ := sub["secret"].(string)
	if len(secret) < 40 {
		t.Fatalf("no signing secret in the created subscription: %v", sub)
	}
	v = &api.WebhookVerifier{Secret: secret}
	_, list := f.do("GET", "/api/v1/alert-subscriptions", "police_op", "")
	if b, _ := json.Marshal(list); bytes.Contains(b, []byte(secret)) {
		t.Fatal("the secret is shown again in the list")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunNotifier(ctx, 100*time.Millisecond)
	f.raise(t, st, "police", "fire.fire")
	var call signedCall
	for deadline := time.Now().Add(8 * time.Second); call.body == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no verified webhook call")
		}
		mu.Lock()
		if len(verified) > 0 {
			call = verified[0]
		}
		mu.Unlock()
	}
	ts, _ := strconv.ParseInt(call.h.Get(api.HeaderWebhookTimestamp), 10, 64)
	with := func(mod func(h http.Header) []byte) (http.Header, []byte) {
		h := call.h.Clone()
		return h, mod(h)
	}
	forged := bytes.Replace(call.body, []byte("fire.fire"), []byte("fire.smoke"), 1)
	attacks := []struct {
		name string
		h    http.Header
		body []byte
		at   time.Time
		want error
	}{
		{"the same call again", call.h, call.body, time.Now(), api.ErrWebhookReplay},
		{"a forged body under the real signature", call.h, forged, time.Now(), api.ErrWebhookSignature},
		{"signed with another secret", nil, nil, time.Now(), api.ErrWebhookSignature},
		{"a new timestamp without a new signature", nil, nil, time.Now(), api.ErrWebhookSignature},
		{"the real call 10 minutes later", call.h, call.body, time.Unix(ts, 0).Add(10 * time.Minute), api.ErrWebhookStale},
		{"unsigned", http.Header{}, call.body, time.Now(), api.ErrWebhookUnsigned},
	}
	attacks[2].h, attacks[2].body = with(func(h http.Header) []byte {
		h.Set(api.HeaderWebhookSignature, api.WebhookSignature("whsec_guess", ts, forged))
		return forged
	})
	attacks[3].h, attacks[3].body = with(func(h http.Header) []byte {
		h.Set(api.HeaderWebhookTimestamp, strconv.FormatInt(ts+1, 10))
		return call.body
	})
	for _, a := range attacks {
		at := a.at
		check := &api.WebhookVerifier{Secret: secret, Now: func() time.Time { return at }}
		if a.want == api.ErrWebhookReplay {
			check = v // the receiver that took the real call
		}
		mu.Lock()
		err := check.Verify(a.h, a.body)
		mu.Unlock()
		if !errors.Is(err, a.want) {
			t.Errorf("%s: %v, want %v", a.name, err, a.want)
		}
	}
}
