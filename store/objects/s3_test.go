package objects

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/services"
)

// TestS3Outage is the failure a distributed deployment will meet: MinIO dies, writers
// must get a prompt error naming the server (not hang), and once it is back the same
// client works and nothing written before is lost.
func TestS3Outage(t *testing.T) {
	ep := services.MinIO(t)
	s := newTestS3(t)
	mustPut(t, s, "before/1.jpg", "written before the outage")

	restart := ep.Outage(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Put(ctx, "during/1.jpg", []byte("x"), "image/jpeg")
	took := time.Since(start)
	t.Logf("put during outage failed after %v: %v", took.Round(time.Millisecond), err)
	if err == nil {
		t.Fatal("put succeeded with the server down")
	}
	if took > 5*time.Second {
		t.Fatalf("put took %v with a 3 s context", took)
	}
	if !strings.Contains(err.Error(), ep.Endpoint) || !strings.Contains(err.Error(), "check the MinIO server") {
		t.Fatalf("error should name %s and say what to check: %v", ep.Endpoint, err)
	}
	if _, err := s.Get(ctx, "before/1.jpg"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("get during outage: %v, want an unreachable error, not ErrNotFound", err)
	}

	start = time.Now()
	restart()
	t.Logf("MinIO restarted in %v", time.Since(start).Round(time.Millisecond))

	mustPut(t, s, "after/1.jpg", "written after the outage")
	mustGet(t, s, "after/1.jpg", "written after the outage")
	mustGet(t, s, "before/1.jpg", "written before the outage")
	mustList(t, s, "", "after/1.jpg", "before/1.jpg")
}

// TestS3BucketRace: workers starting together against a fresh server all race to
// create the bucket, and all must succeed.
func TestS3BucketRace(t *testing.T) {
	ep := services.MinIO(t)
	bucket := testBucket(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			endpoint := ep.Endpoint
			if i%2 == 1 {
				endpoint = "http://" + endpoint // a URL form is accepted too
			}
			_, errs[i] = NewS3(opCtx(t), S3Config{
				Endpoint: endpoint, AccessKey: ep.AccessKey, SecretKey: ep.SecretKey, Bucket: bucket,
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("NewS3 #%d: %v", i, err)
		}
	}
}

func TestS3Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = NewS3(ctx, S3Config{Endpoint: addr, AccessKey: "a", SecretKey: "bbbbbbbb", Bucket: "b-b"})
	if err == nil {
		t.Fatal("NewS3 succeeded with no server")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "check the MinIO server") {
		t.Fatalf("error should name %s and say what to check: %v", addr, err)
	}
}

// TestS3Stalled: a server that accepts connections but never answers (hung process,
// half-dead network) must not hold a caller past its deadline.
func TestS3Stalled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = NewS3(ctx, S3Config{Endpoint: l.Addr().String(), AccessKey: "a", SecretKey: "bbbbbbbb", Bucket: "b-b"})
	took := time.Since(start)
	if err == nil {
		t.Fatal("NewS3 succeeded against a silent server")
	}
	if took > 4*time.Second {
		t.Fatalf("took %v with a 2 s context", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("want a deadline error naming %s, got %v", l.Addr(), err)
	}
	t.Log(err)
}

func TestS3BadCredentials(t *testing.T) {
	ep := services.MinIO(t)
	_, err := NewS3(opCtx(t), S3Config{
		Endpoint: ep.Endpoint, AccessKey: ep.AccessKey, SecretKey: "wrong-secret", Bucket: testBucket(t),
	})
	if err == nil || !strings.Contains(err.Error(), "secret key") {
		t.Fatalf("want an error pointing at the credentials, got %v", err)
	}
}

func TestS3CanceledContext(t *testing.T) {
	s := newTestS3(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "k", []byte("x"), ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("put with a canceled context: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a canceled context: %v", err)
	}
}

func TestS3Config(t *testing.T) {
	for _, cfg := range []S3Config{
		{Endpoint: "", Bucket: "b"},
		{Endpoint: "http://127.0.0.1:9000/path", Bucket: "b"},
		{Endpoint: "127.0.0.1:9000", Bucket: ""},
	} {
		if _, err := NewS3(context.Background(), cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
