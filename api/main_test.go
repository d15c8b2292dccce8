package api_test

import (
	"testing"

	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/testdata/services"
)

// TestMain stops the servers the tests started (MinIO and Redis for the distributed
// warehouse). Started as the warehouse's model sandbox, the test binary is that
// child instead (the warehouse re-executes its own binary).
func TestMain(m *testing.M) {
	warehouse.SandboxMain()
	services.Main(m)
}
