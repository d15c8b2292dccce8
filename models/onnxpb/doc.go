// Package onnxpb holds Go types for the ONNX protobuf format (ModelProto, GraphProto,
// NodeProto, TensorProto, ...) generated from the official onnx/onnx onnx.proto3
// (onnx/onnx commit f34fb1ec57079c9a462f9ad12a07efa981e1c9d8, IR version 7, MIT licence),
// plus a small builder for assembling graphs in code and tests.
//
// The .proto file is kept verbatim; the Go package is assigned on the protoc command line.
// Regenerate with `go generate ./models/onnxpb` (needs protoc and
// protoc-gen-go v1.36.12: go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
package onnxpb

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto3=github.com/cityeye/cityeye/models/onnxpb onnx.proto3
