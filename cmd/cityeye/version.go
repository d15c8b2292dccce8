package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/cityeye/cityeye/models/engine"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func init() {
	register("version", "print version, Go and ONNX Runtime versions", func(args []string) error {
		fs := newFlags("version", "version")
		if err := parse(fs, args); err != nil {
			return err
		}
		rev := ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					rev = " (" + s.Value[:12] + ")"
				}
			}
		}
		ort := engine.Version()
		if ort == "" {
			ort = "not found (run make setup)"
		}
		fmt.Printf("cityeye %s%s\ngo %s %s/%s\nonnxruntime %s\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, ort)
		return nil
	})
}
