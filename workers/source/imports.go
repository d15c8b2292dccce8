package source

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
)

// ErrNotImported is the one answer for a file:// URL that is not under an import
// folder: the same whether the file exists or not, and naming no server path.
var ErrNotImported = errors.New("file:// URLs must name a file under an import folder the platform administrator configured")

// ImportPath returns the file a file:///abs/path URL names when it lies under one
// of dirs (the import folders the platform administrator configured), both as
// written and with symbolic links resolved. The URL must be in its plain form: no
// host, query or fragment, no "..", "." or doubled slashes, no escapes that decode
// into any of those.
func ImportPath(raw string, dirs []string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" || u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", ErrNotImported
	}
	p := u.Path
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
		return "", ErrNotImported
	}
	for _, d := range dirs {
		if !filepath.IsAbs(d) || !within(p, filepath.Clean(d)) {
			continue
		}
		// a link inside the folder must not lead out of it (a missing file cannot be
		// resolved; it is checked again when it is opened)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return p, nil
		}
		if rd, err := filepath.EvalSymlinks(d); err == nil && within(real, rd) {
			return p, nil
		}
	}
	return "", ErrNotImported
}

// ImportedFile is ImportPath for a file about to be opened: it must exist too.
func ImportedFile(raw string, dirs []string) (string, error) {
	p, err := ImportPath(raw, dirs)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", errors.New("the file cannot be read")
	}
	for _, d := range dirs {
		if rd, err := filepath.EvalSymlinks(d); err == nil && within(real, rd) {
			return real, nil
		}
	}
	return "", ErrNotImported
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
