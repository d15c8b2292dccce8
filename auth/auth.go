// Package auth holds CityEye's vocabulary of identity and rights: roles, API tokens
// (only their hashes are stored), rights on a camera, and administrative areas
// (GB/T 2260 codes, where a code ending in 00 or 0000 covers its whole city or
// province). The policy that combines them lives in the API (per route) and in the
// store (per row, inside the SQL query).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Role is what a user may do; every API route lists the roles it admits.
type Role string

// The roles. A machine subscriber (another platform, the Minqing map) is a user too.
const (
	PlatformAdmin Role = "platform_admin" // the platform office: everything, audit log included
	DeptAdmin     Role = "dept_admin"     // a department's administrator: its users, cameras, approvals
	Operator      Role = "operator"       // registers cameras and runs tasks for its department
	Analyst       Role = "analyst"        // reads, searches and exports its department's results
	Vendor        Role = "vendor"         // uploads and maintains models in the warehouse
	Subscriber    Role = "subscriber"     // a machine reading its department's results
	WorkerRole    Role = "worker"         // an analysis worker process (distributed mode): heartbeats, gets its streams
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{PlatformAdmin, DeptAdmin, Operator, Analyst, Vendor, Subscriber, WorkerRole}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Right is one thing a department may do with a camera it does not own.
type Right string

// The rights a sharing grant can carry.
const (
	RightAnalyse   Right = "analyse"   // run algorithm tasks on the camera
	RightRecords   Right = "records"   // see the structured records those tasks produce
	RightSnapshots Right = "snapshots" // download the snapshots of those records
)

// AllRights is what an owner, or any department in the area of an unconditionally
// shared camera, holds.
var AllRights = []Right{RightAnalyse, RightRecords, RightSnapshots}

// ValidRight reports whether r is a known right.
func ValidRight(r Right) bool { return slices.Contains(AllRights, r) }

// Sharing is a camera's sharing attribute as the city catalogue codes it.
const (
	SharingConditional   = 0 // another department applies; the owner approves
	SharingUnconditional = 1 // any department in whose area the camera is
	SharingNone          = 2 // only the owner and the platform office
)

// TokenPrefix marks CityEye API tokens so that leaked ones are easy to scan for.
const TokenPrefix = "cye_"

// NewToken returns a fresh random API token; show it once, store only HashToken(it).
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what the database keeps of a token: tokens are 256-bit random, so a
// plain SHA-256 (no salt, no stretching) is enough and lets the lookup use an index.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

var areaRE = regexp.MustCompile(`^[0-9]{6}$`)

// CheckArea validates a GB/T 2260 area code: 6 digits; 000000 is the whole country.
func CheckArea(code string) error {
	if !areaRE.MatchString(code) {
		return fmt.Errorf("area %q must be a 6-digit GB/T 2260 code such as 441502 (district), 441500 (city) or 440000 (province)", code)
	}
	return nil
}

// AreaPrefix is the part of an area code that its sub-areas share: 441500 → 4415,
// 440000 → 44, 441502 → 441502, 000000 → "" (everything).
func AreaPrefix(code string) string {
	p := code
	for len(p) >= 2 && strings.HasSuffix(p, "00") {
		p = p[:len(p)-2]
	}
	return p
}

// InAreas reports whether an admin division lies inside any of the areas.
func InAreas(division string, areas []string) bool {
	for _, a := range areas {
		if strings.HasPrefix(division, AreaPrefix(a)) {
			return true
		}
	}
	return false
}

// Scope is the part of the data a caller may see: everything, or one department's
// within its areas and grants. Store queries take it and filter in SQL.
type Scope struct {
	All   bool
	Dept  string
	Areas []string
}
