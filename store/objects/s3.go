package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where the distributed-mode object store lives.
type S3Config struct {
	Endpoint  string `json:"endpoint"` // host:port; an http:// or https:// prefix also sets UseSSL
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	Bucket    string `json:"bucket"`
	Region    string `json:"region,omitempty"` // empty lets the server decide (MinIO: us-east-1)
	UseSSL    bool   `json:"use_ssl,omitempty"`
	// PublicBase prefixes URI(), e.g. "http://127.0.0.1:8080/api/v1/objects/";
	// the same contract as Local.BaseURI, so records never name the S3 server.
	PublicBase string `json:"public_base,omitempty"`
}

// Timeouts that bound every request even when the caller's context has no deadline:
// a dead or partitioned server must surface as an error, not a hung worker.
const (
	s3DialTimeout   = 5 * time.Second
	s3HeaderTimeout = 30 * time.Second // time for the server to answer a fully sent request
	s3IdleIO        = 30 * time.Second // no byte either way for this long ends the connection
	s3PoolIdle      = 20 * time.Second // below s3IdleIO so pooled connections close first
	s3MaxRetries    = 4                // minio-go's default of 10 turns an outage into ~10 s per call
)

// S3 keeps objects in one bucket of an S3 server (MinIO in practice). A PUT is
// atomic on S3, so Store's contract holds without temporary keys.
type S3 struct {
	client     *minio.Client
	endpoint   string
	bucket     string
	publicBase string
}

var _ Store = (*S3)(nil)

// NewS3 connects and creates the bucket if missing, so a fresh MinIO works without
// a manual setup step.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	endpoint, secure := cfg.Endpoint, cfg.UseSSL
	if rest, ok := strings.CutPrefix(endpoint, "https://"); ok {
		endpoint, secure = rest, true
	} else if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		endpoint, secure = rest, false
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if endpoint == "" || strings.Contains(endpoint, "/") {
		return nil, fmt.Errorf("object store endpoint %q: want host:port, e.g. 127.0.0.1:9000", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("object store: no bucket configured")
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: s3DialTimeout, KeepAlive: 15 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &s3IdleConn{Conn: c}, nil
	}
	tr.ResponseHeaderTimeout = s3HeaderTimeout
	tr.IdleConnTimeout = s3PoolIdle
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ExpectContinueTimeout = time.Second

	client, err := minio.New(endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     secure,
		Transport:  tr,
		Region:     cfg.Region,
		MaxRetries: s3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("object store endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, endpoint: endpoint, bucket: cfg.Bucket, publicBase: cfg.PublicBase}
	if err := s.ensureBucket(ctx, cfg.Region); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureBucket tolerates another process creating the bucket at the same moment:
// several workers may start against a fresh server together.
func (s *S3) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.fail("check bucket", "", err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err == nil {
		return nil
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.BucketAlreadyOwnedByYou:
		return nil
	case minio.BucketAlreadyExists:
		// Someone else's bucket on a shared S3, or a concurrent creator on ours:
		// only the latter lets us in.
		if ok, err2 := s.client.BucketExists(ctx, s.bucket); err2 == nil && ok {
			return nil
		}
	}
	return s.fail("create bucket", "", err)
}

func (s *S3) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	defer obj.Close()
	// GetObject is lazy: a missing key only shows on the first read.
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	return b, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	// S3 answers 204 for a missing key, which matches Store's contract.
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// List returns the keys under prefix in byte order, like Local. A non-empty prefix
// must itself be a valid key start, so a typo like "/snap" fails loudly instead of
// listing nothing.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine if we return early
	var keys []string
	for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, s.fail("list", prefix, info.Err)
		}
		keys = append(keys, info.Key)
	}
	slices.Sort(keys)
	return keys, nil
}

func (s *S3) URI(key string) string { return s.publicBase + key }

// fail turns minio-go's errors into ones that name the server and say what to check.
func (s *S3) fail(op, key string, err error) error {
	what := op
	if key != "" {
		what = fmt.Sprintf("%s %q", op, key)
	}
	where := fmt.Sprintf("bucket %q at %s", s.bucket, s.endpoint)
	code := minio.ToErrorResponse(err).Code
	switch {
	case code == minio.NoSuchKey && op == "get":
		return ErrNotFound
	case code == minio.NoSuchBucket:
		return fmt.Errorf("object store %s: %s: bucket missing (deleted while running?); restart to recreate it: %w", where, what, err)
	case code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("object store %s refused %s: %w; check the access key, secret key and bucket policy", where, what, err)
	case code != "":
		return fmt.Errorf("object store %s: %s: %w", where, what, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("object store %s: %s: %w", where, what, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("object store at %s did not answer in time: %s: %w; check the MinIO server", s.endpoint, what, err)
	default:
		return fmt.Errorf("object store at %s unreachable: %s: %w; check the MinIO server", s.endpoint, what, err)
	}
}

// s3IdleConn fails a read or write that makes no progress for s3IdleIO. Transport
// timeouts stop at the response headers; without this a server that vanishes
// mid-body (power loss, partition) would hold a caller with no deadline for the
// kernel's retransmission timeout, about 15 minutes.
type s3IdleConn struct{ net.Conn }

func (c *s3IdleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(s3IdleIO))
	return c.Conn.Read(p)
}

func (c *s3IdleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(s3IdleIO))
	return c.Conn.Write(p)
}
