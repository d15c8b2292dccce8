package warehouse

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/cityeye/cityeye/store"
)

// The seed evaluation sets: real images from the test media, labelled by hand
// once (seed/LABELLING.md says how), shipped in the binary so that a new
// platform scores its first uploads on something.
//
//go:embed seed/sets.json seed/*/*
var seedFS embed.FS

// SeedSet is one seed evaluation set as seed/sets.json lists it.
type SeedSet struct {
	Name        string `json:"name"`
	Task        string `json:"task"`
	Folder      string `json:"folder"`
	Annotations string `json:"annotations"`
	Description string `json:"description"`
}

// SeedSets lists the seed sets.
func SeedSets() ([]SeedSet, error) {
	b, err := seedFS.ReadFile("seed/sets.json")
	if err != nil {
		return nil, err
	}
	var out []SeedSet
	return out, json.Unmarshal(b, &out)
}

// SeedEvalSets stores, as by, every seed set whose name is not taken yet. Nothing
// is scored at once (a server's first start stays light): a candidate's
// validation scores it and its baseline on them.
func (w *Warehouse) SeedEvalSets(ctx context.Context, by string) error {
	sets, err := SeedSets()
	if err != nil {
		return err
	}
	for _, s := range sets {
		if _, err := w.DB.GetEvalSet(ctx, s.Name); err == nil || !errors.Is(err, store.ErrNotFound) {
			continue
		}
		ann, images, cleanup, err := s.Files(w.Scratch)
		if err != nil {
			return err
		}
		_, err = w.storeEvalSet(ctx, by, s.Name, s.Task, s.Description, ann, images)
		cleanup()
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// Files writes the set's images into a new folder under scratch and returns its
// annotations and the images by file name, as an upload gives them.
func (s SeedSet) Files(scratch string) (annotations []byte, images map[string]string, cleanup func(), err error) {
	dir, err := os.MkdirTemp(scratch, "seed-")
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	images = map[string]string{}
	entries, err := fs.ReadDir(seedFS, path.Join("seed", s.Folder))
	for _, e := range entries {
		b, rerr := seedFS.ReadFile(path.Join("seed", s.Folder, e.Name()))
		if rerr != nil {
			err = rerr
			break
		}
		if e.Name() == s.Annotations {
			annotations = b
			continue
		}
		images[e.Name()] = filepath.Join(dir, e.Name())
		if err = os.WriteFile(images[e.Name()], b, 0o644); err != nil {
			break
		}
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return annotations, images, cleanup, nil
}
