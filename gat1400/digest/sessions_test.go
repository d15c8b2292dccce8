package digest

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestIdentifyHeader(t *testing.T) {
	for _, c := range []struct {
		v    string
		want error
	}{
		{"34020000001190000001", nil},
		{" 34020000001190000001 ", nil},
		{"", ErrNoIdentify},
		{"3402000000119000000", ErrBadIdentify},
		{"340200000011900000011", ErrBadIdentify},
		{"3402000000119000000a", ErrBadIdentify},
		{"３4020000001190000001", ErrBadIdentify}, // full-width digit
	} {
		r := httptest.NewRequest("POST", "/VIID/System/Keepalive", nil)
		if c.v != "" {
			r.Header.Set("User-Identify", c.v)
		}
		id, err := IdentifyHeader(r)
		if !errors.Is(err, c.want) || (err == nil && id != "34020000001190000001") {
			t.Errorf("%q: %q %v, want %v", c.v, id, err, c.want)
		}
	}
}

func TestSessionsLifecycle(t *testing.T) {
	clk := newClock()
	s := &Sessions{Timeout: 90 * time.Second, Now: clk.Now}
	const dev = "34020000001190000001"

	if s.Online(dev) {
		t.Fatal("online before Register")
	}
	if err := s.Keepalive(dev); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("keepalive before Register: %v", err)
	}
	t0 := clk.Now()
	ss := s.Register(dev, "10.0.0.5:5060")
	if ss.DeviceID != dev || ss.Remote != "10.0.0.5:5060" || !ss.RegisteredAt.Equal(t0) || !ss.ExpiresAt.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("Register returned %+v", ss)
	}
	if !s.Online(dev) {
		t.Fatal("not online after Register")
	}

	// Keepalives every 60 s keep it online well past one timeout.
	for i := 0; i < 5; i++ {
		clk.Advance(60 * time.Second)
		if err := s.Keepalive(dev); err != nil {
			t.Fatalf("keepalive %d: %v", i, err)
		}
	}
	got, ok := s.Get(dev)
	if !ok || !got.RegisteredAt.Equal(t0) || !got.LastSeen.Equal(clk.Now()) {
		t.Fatalf("Get = %+v %v", got, ok)
	}

	// Silence for exactly Timeout: offline, and a late keepalive must re-register.
	clk.Advance(89 * time.Second)
	if !s.Online(dev) {
		t.Fatal("offline 1 s before timeout")
	}
	clk.Advance(time.Second)
	if s.Online(dev) {
		t.Fatal("online at timeout")
	}
	if len(s.List()) != 0 {
		t.Fatalf("List has expired sessions: %v", s.List())
	}
	s.Register(dev, "r")
	clk.Advance(2 * time.Minute)
	if err := s.Keepalive(dev); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("late keepalive: %v", err)
	}
	if err := s.Keepalive(dev); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("keepalive after expiry was reported: %v", err)
	}

	// Unregister.
	s.Register(dev, "r")
	if !s.Unregister(dev) || s.Online(dev) || s.Unregister(dev) {
		t.Fatal("Unregister")
	}

	// List: sorted, online only.
	s.Register("34020000001190000003", "c")
	s.Register("34020000001190000001", "a")
	clk.Advance(60 * time.Second)
	s.Register("34020000001190000002", "b")
	clk.Advance(45 * time.Second) // ...0003 and ...0001 expire
	l := s.List()
	if len(l) != 1 || l[0].DeviceID != "34020000001190000002" {
		t.Fatalf("List = %+v", l)
	}
	s.Register("34020000001190000001", "a")
	l = s.List()
	if len(l) != 2 || l[0].DeviceID != "34020000001190000001" || l[1].DeviceID != "34020000001190000002" {
		t.Fatalf("List = %+v", l)
	}
}

func TestSessionsDefaults(t *testing.T) {
	var s Sessions
	clk := newClock()
	s.Now = clk.Now
	s.Register("34020000001190000001", "")
	clk.Advance(DefaultSessionTimeout - time.Second)
	if !s.Online("34020000001190000001") {
		t.Fatal("zero-value Sessions: offline before default timeout")
	}
	clk.Advance(time.Second)
	if s.Online("34020000001190000001") {
		t.Fatal("zero-value Sessions: online after default timeout")
	}
	if NewSessions(time.Second).Timeout != time.Second {
		t.Fatal("NewSessions")
	}
}

func TestSessionsConcurrent(t *testing.T) {
	clk := newClock()
	s := &Sessions{Timeout: time.Minute, Now: clk.Now}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("340200000011900%05d", (g*200+i)%50)
				switch i % 6 {
				case 0:
					s.Register(id, "r")
				case 1:
					_ = s.Keepalive(id)
				case 2:
					s.Online(id)
				case 3:
					s.List()
				case 4:
					if i%30 == 4 {
						s.Unregister(id)
					}
				case 5:
					clk.Advance(time.Second)
				}
			}
		}(g)
	}
	wg.Wait()
	for _, ss := range s.List() {
		if !ValidDeviceID(ss.DeviceID) || !s.Online(ss.DeviceID) {
			t.Errorf("bad session %+v", ss)
		}
	}
}
