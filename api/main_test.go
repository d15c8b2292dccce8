package api_test

import (
	"os"
	"testing"

	"github.com/cityeye/cityeye/testdata/services"
)

// TestMain stops the servers the tests started (MinIO for the warehouse on S3).
func TestMain(m *testing.M) {
	code := m.Run()
	services.StopMinIO()
	os.Exit(code)
}
