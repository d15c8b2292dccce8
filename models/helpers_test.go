package models_test

import "github.com/cityeye/cityeye/models/engine"

func testdataOptions() engine.Options {
	return engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 2}
}
