package api_test

import (
	"testing"

	"github.com/cityeye/cityeye/testdata/services"
)

// TestMain stops the servers the tests started (MinIO and Redis for the distributed warehouse).
func TestMain(m *testing.M) { services.Main(m) }
