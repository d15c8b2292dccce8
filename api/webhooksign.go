package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook calls (alert subscriptions) are signed so that the receiver (the map) can
// tell CityEye's calls from anyone else's and refuse a recorded call sent again:
//
//	X-CityEye-Timestamp: 1764988800                       (Unix seconds when it was sent)
//	X-CityEye-Delivery:  the NotificationID                (the same on every retry)
//	X-CityEye-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// The secret is the subscription's own, shown once when it is created. A receiver
// recomputes the HMAC over the raw body, compares in constant time, refuses a
// timestamp outside its window (WebhookWindow) and a signature it already took
// within the window (the same call sent again). A retry is a new call (new
// timestamp) of the same notification: receivers take each NotificationID once
// (delivery is at least once). WebhookVerifier is the reference implementation
// (docs/webhooks.md).
const (
	HeaderWebhookTimestamp = "X-CityEye-Timestamp"
	HeaderWebhookSignature = "X-CityEye-Signature"
	HeaderWebhookDelivery  = "X-CityEye-Delivery"
	// WebhookWindow is how far a call's timestamp may be from the receiver's clock.
	WebhookWindow = 5 * time.Minute
)

// newWebhookSecret is a subscription's signing secret: 32 random bytes.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// WebhookSignature is the v1 signature of body sent at ts with secret.
func WebhookSignature(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// signWebhook sets the signature headers of a call carrying body.
func signWebhook(h http.Header, secret, delivery string, body []byte, now time.Time) {
	ts := now.Unix()
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderWebhookDelivery, delivery)
	h.Set(HeaderWebhookSignature, WebhookSignature(secret, ts, body))
}

// Reasons a WebhookVerifier refuses a call.
var (
	ErrWebhookUnsigned  = errors.New("webhook: no signature or timestamp")
	ErrWebhookSignature = errors.New("webhook: signature does not match")
	ErrWebhookStale     = errors.New("webhook: timestamp outside the window")
	ErrWebhookReplay    = errors.New("webhook: this call was already received")
)

// WebhookVerifier is the reference receiver-side check of signed webhook calls.
// It remembers the signatures it accepted for twice the window, so a recorded call
// sent again while its timestamp would still pass is refused.
type WebhookVerifier struct {
	Secret string
	Window time.Duration    // default WebhookWindow
	Now    func() time.Time // default time.Now

	mu   sync.Mutex
	seen map[string]time.Time // signature → when accepted
}

// Verify checks one call's headers and raw body; nil means it is CityEye's, fresh
// and new.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) error {
	now, window := time.Now(), v.Window
	if v.Now != nil {
		now = v.Now()
	}
	if window <= 0 {
		window = WebhookWindow
	}
	tsv, sig := h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	ts, err := strconv.ParseInt(tsv, 10, 64)
	if err != nil || !strings.HasPrefix(sig, "v1=") {
		return ErrWebhookUnsigned
	}
	// the signature first: an unsigned claim about time or identity means nothing
	if !hmac.Equal([]byte(sig), []byte(WebhookSignature(v.Secret, ts, body))) {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("%w (%s off)", ErrWebhookStale, d.Round(time.Second))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for k, at := range v.seen {
		if now.Sub(at) > 2*window {
			delete(v.seen, k)
		}
	}
	if _, dup := v.seen[sig]; dup {
		return ErrWebhookReplay
	}
	v.seen[sig] = now
	return nil
}
