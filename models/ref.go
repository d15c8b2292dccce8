package models

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// PlatformVendor is the namespace of the platform's own models: the starter models
// and what the platform office publishes. Bare model names belong to it, so no
// other vendor's package is ever what a bare name resolves to.
const PlatformVendor = "platform"

// vendorsDir holds every other vendor's models, <root>/_vendors/<vendor>/<name>/<version>;
// a model name cannot start with '_', so it never meets a platform model's folder.
const vendorsDir = "_vendors"

var vendorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)

// ValidVendor reports whether v can be a vendor namespace.
func ValidVendor(v string) bool { return vendorRE.MatchString(v) }

// QualifiedName is a model's repository key: the bare name for the platform's
// models, vendor/name for every other vendor's.
func QualifiedName(vendor, name string) string {
	if vendor == "" || vendor == PlatformVendor {
		return name
	}
	return vendor + "/" + name
}

// QualifiedName is the manifest's repository key.
func (m Manifest) QualifiedName() string { return QualifiedName(m.Vendor, m.Name) }

// SplitName parses a repository key ("name" or "vendor/name"; "platform/name" is
// the bare name) into its vendor (PlatformVendor for bare names) and name.
func SplitName(q string) (vendor, name string, err error) {
	vendor, name, qualified := strings.Cut(q, "/")
	if !qualified {
		vendor, name = PlatformVendor, q
	}
	if !vendorRE.MatchString(vendor) || !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("%w: %q is not a model name (name or vendor/name)", ErrNotFound, q)
	}
	return vendor, name, nil
}

// modelDir is the folder of a model's versions.
func (r Repository) modelDir(q string) (string, error) {
	vendor, name, err := SplitName(q)
	if err != nil {
		return "", err
	}
	if vendor == PlatformVendor {
		return filepath.Join(r.Root, name), nil
	}
	return filepath.Join(r.Root, vendorsDir, vendor, name), nil
}

// Ref is what a task names for one of its algorithm's models (params.models):
// a version of the platform's model ("1.2.0"), a vendor's build of it following
// its published version ("acme/nanodet") or pinned ("acme/nanodet@1.1.0"). The
// name must be the algorithm's: a vendor supplies that model, never another.
type Ref struct{ Vendor, Name, Version string }

// ParseRef reads a task's choice for the algorithm's model slot.
func ParseRef(slot, s string) (Ref, error) {
	if !strings.Contains(s, "/") {
		if !versionRE.MatchString(s) {
			return Ref{}, fmt.Errorf("a version of the platform's %s such as 1.2.0, or vendor/%s[@version]", slot, slot)
		}
		return Ref{Vendor: PlatformVendor, Name: slot, Version: s}, nil
	}
	q, version, pinned := strings.Cut(s, "@")
	vendor, name, err := SplitName(q)
	switch {
	case err != nil:
		return Ref{}, fmt.Errorf("vendor/%s or vendor/%s@version", slot, slot)
	case name != slot:
		return Ref{}, fmt.Errorf("names model %s; this slot takes a vendor's %s", name, slot)
	case pinned && !versionRE.MatchString(version):
		return Ref{}, fmt.Errorf("%q is not a version such as 1.2.0", version)
	}
	return Ref{Vendor: vendor, Name: name, Version: version}, nil
}

// Key is the repository key with the pinned version, if any: what workers load.
func (r Ref) Key() string {
	if r.Version == "" {
		return QualifiedName(r.Vendor, r.Name)
	}
	return QualifiedName(r.Vendor, r.Name) + "@" + r.Version
}
