package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cityeye/cityeye/models/decode"
)

// A manifest comes from a vendor, so every file it names is untrusted: a name is
// only ever opened when it is one of the package's own files (File or Files[]), by
// a clean base name, as a regular file in the version folder, never through a
// symlink. Nothing a manifest says can reach another file on the server.

// reservedNames are the repository's own files in a version or model folder.
var reservedNames = map[string]bool{ManifestFile: true, PublishedFile: true}

// checkFileName accepts a plain file name that cannot leave or shadow anything in
// the version folder.
func checkFileName(name string) error {
	switch {
	case !fileRE.MatchString(name) || name != filepath.Base(filepath.Clean(name)):
		return errors.New("must be a plain file name (letters, digits, '.', '_', '-')")
	case name[0] == '.':
		return errors.New("must not start with '.'")
	case reservedNames[name]:
		return fmt.Errorf("%q is reserved", name)
	}
	return nil
}

// Listed reports whether name is one of the package's own files.
func (m Manifest) Listed(name string) bool {
	if name == m.File {
		return true
	}
	for _, f := range m.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// checkPaths validates every file name the manifest gives and every file a decoder
// parameter names (the CTC dictionary): each must be a listed package file.
func (m Manifest) checkPaths() error {
	if err := checkFileName(m.File); err != nil {
		return fieldErr("file", err.Error())
	}
	seen := map[string]bool{m.File: true}
	for i, f := range m.Files {
		field := fmt.Sprintf("files[%d].name", i)
		if err := checkFileName(f.Name); err != nil {
			return fieldErr(field, err.Error())
		}
		if seen[f.Name] {
			return fieldErr(field, fmt.Sprintf("%q is named twice (the model file and extra files need distinct names)", f.Name))
		}
		seen[f.Name] = true
	}
	if m.Decoder.Type == "ctc" && len(m.Decoder.Params) > 0 {
		var c decode.CTCConfig
		if err := json.Unmarshal(m.Decoder.Params, &c); err != nil {
			return fieldErr("decoder.params", err.Error())
		}
		if c.Dictionary == "" || !seen[c.Dictionary] || c.Dictionary == m.File {
			return fieldErr("decoder.params.dictionary", "must name one of files[] (the dictionary shipped in the package)")
		}
	}
	return nil
}

// FilePath returns the path of a listed package file in version folder dir after
// checking it is a regular file there (not a symlink), for APIs that take a path.
func (m Manifest) FilePath(dir, name string) (string, error) {
	if !m.Listed(name) || checkFileName(name) != nil {
		return "", fmt.Errorf("%q is not one of the package's files", name)
	}
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file (symlinks are refused)", name)
	}
	return p, nil
}

// OpenFile opens a listed package file in dir, refusing symlinks even when one
// replaces the file between the check and the open.
func (m Manifest) OpenFile(dir, name string) (*os.File, error) {
	p, err := m.FilePath(dir, name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	return f, nil
}

// unwrapPath drops the path from an *os.PathError: errors name files by their
// package name only, never by where they lie on the server.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
