package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/services"
)

func TestMain(m *testing.M) { services.Main(m) }

const testBase = "http://127.0.0.1:8080/api/v1/objects/"

// TestLocalConformance and TestS3Conformance hold both implementations to one
// contract, so the embedded and distributed modes behave the same for callers.
func TestLocalConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) Store {
		l, err := NewLocal(t.TempDir(), testBase)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

func TestS3Conformance(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return newTestS3(t) })
}

var bucketSeq atomic.Int64

// newTestS3 gives each test a fresh bucket on the shared MinIO server.
func newTestS3(t *testing.T) *S3 {
	t.Helper()
	ep := services.MinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := NewS3(ctx, S3Config{
		Endpoint:   ep.Endpoint,
		AccessKey:  ep.AccessKey,
		SecretKey:  ep.SecretKey,
		Bucket:     testBucket(t),
		PublicBase: testBase,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testBucket derives a valid, unique S3 bucket name from the test's name.
func testBucket(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, t.Name())
	b := fmt.Sprintf("t%03d-%s", bucketSeq.Add(1), name)
	if len(b) > 63 {
		b = b[:63]
	}
	return strings.TrimRight(b, "-")
}

func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s Store, key, data string) {
	t.Helper()
	if err := s.Put(opCtx(t), key, []byte(data), "text/plain"); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key, want string) {
	t.Helper()
	b, err := s.Get(opCtx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if string(b) != want {
		t.Fatalf("get %s = %q, want %q", key, b, want)
	}
}

func mustList(t *testing.T, s Store, prefix string, want ...string) {
	t.Helper()
	keys, err := s.List(opCtx(t), prefix)
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	if len(keys) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("list %q = %q, want %q", prefix, keys, want)
	}
}

func runConformance(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "snap/2026/a.jpg", "jpeg")
		mustGet(t, s, "snap/2026/a.jpg", "jpeg")
		mustPut(t, s, "empty", "")
		mustGet(t, s, "empty", "")
	})

	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", "first")
		mustPut(t, s, "k", "second, longer")
		mustGet(t, s, "k", "second, longer")
		mustPut(t, s, "k", "3")
		mustGet(t, s, "k", "3")
		mustList(t, s, "", "k")
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "a/b.jpg", "x")
		mustPut(t, s, "a/c.jpg", "y")
		if err := s.Delete(opCtx(t), "a/b.jpg"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(opCtx(t), "a/b.jpg"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get after delete: %v, want ErrNotFound", err)
		}
		mustGet(t, s, "a/c.jpg", "y")
		mustList(t, s, "", "a/c.jpg")
	})

	t.Run("GetMissing", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(opCtx(t), "never/written"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteMissing", func(t *testing.T) {
		s := newStore(t)
		if err := s.Delete(opCtx(t), "never/written"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		mustPut(t, s, "once", "x")
		for range 2 {
			if err := s.Delete(opCtx(t), "once"); err != nil {
				t.Fatalf("deleting twice: %v", err)
			}
		}
	})

	t.Run("ListPrefix", func(t *testing.T) {
		s := newStore(t)
		keys := []string{
			"snap/2026/02/c.jpg", "snap/2026/01/b.jpg", "snap/2026/01/a.jpg",
			"snap-old.jpg", "snapshot.jpg", "clip/cam1/x.mp4", "a/b", "a-b",
		}
		for _, k := range keys {
			mustPut(t, s, k, k)
		}
		mustList(t, s, "snap/", "snap/2026/01/a.jpg", "snap/2026/01/b.jpg", "snap/2026/02/c.jpg")
		mustList(t, s, "snap/2026/01/", "snap/2026/01/a.jpg", "snap/2026/01/b.jpg")
		// a prefix is a string prefix, not a folder
		mustList(t, s, "snap", "snap-old.jpg", "snap/2026/01/a.jpg", "snap/2026/01/b.jpg",
			"snap/2026/02/c.jpg", "snapshot.jpg")
		mustList(t, s, "clip/cam1/x.mp4", "clip/cam1/x.mp4")
		mustList(t, s, "nothing/")
		// byte order over whole keys: "a-b" < "a/b" although folder "a" sorts before file "a-b"
		sorted := slices.Clone(keys)
		slices.Sort(sorted)
		mustList(t, s, "", sorted...)
	})

	t.Run("URI", func(t *testing.T) {
		s := newStore(t)
		if got := s.URI("snap/2026/a.jpg"); got != testBase+"snap/2026/a.jpg" {
			t.Fatalf("URI = %q", got)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		ctx := opCtx(t)
		for _, bad := range []string{"../x", "", "/abs", "a/../../b", "a/..", "-x", "a b", strings.Repeat("k", 513)} {
			if err := s.Put(ctx, bad, []byte("x"), ""); err == nil {
				t.Errorf("put %q accepted", bad)
			}
			if _, err := s.Get(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("get %q: %v, want a key error", bad, err)
			}
			if err := s.Delete(ctx, bad); err == nil {
				t.Errorf("delete %q accepted", bad)
			}
			if bad == "" {
				continue // "" lists everything
			}
			if _, err := s.List(ctx, bad); err == nil {
				t.Errorf("list %q accepted", bad)
			}
		}
		mustList(t, s, "")
	})

	t.Run("Large", func(t *testing.T) {
		s := newStore(t)
		data := make([]byte, 8<<20)
		r := rand.NewChaCha8([32]byte{1})
		r.Read(data)
		ctx := opCtx(t)
		if err := s.Put(ctx, "big/blob.bin", data, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "big/blob.bin")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("8 MiB round trip differs (got %d bytes)", len(got))
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		s := newStore(t)
		ctx := opCtx(t)
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*4096)
				errs[i] = s.Put(ctx, fmt.Sprintf("conc/%02d", i), data, "")
			})
		}
		wg.Wait()
		var want []string
		for i, err := range errs {
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
			k := fmt.Sprintf("conc/%02d", i)
			want = append(want, k)
			mustGet(t, s, k, strings.Repeat(string(rune('a'+i)), 1000+i*4096))
		}
		mustList(t, s, "conc/", want...)
	})
}
