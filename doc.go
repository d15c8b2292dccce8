// Package cityeye is the root of CityEye, a city video platform's algorithm
// warehouse and inference scheduler. It holds no code: the packages below it do
// the work, and architecture_test.go keeps their imports running one way:
//
//	cmd → api → scheduler → workers → algorithms → models → domain
//
// where the domain is what every layer shares: store (SQL and object stores),
// gat1400 (the standard's types, codes, IDs, query language and Digest), auth
// (roles, scopes, rights) and watermark. A package may import its own folder's
// packages and any layer below its own, never one above.
package cityeye
