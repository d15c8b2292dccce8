package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

// Attack (issue 14 item 6), defence in depth: a file:// stream outside the import
// folders that reached the worker anyway (registered before the folders were
// configured, or written to the database directly) is not decoded; one inside is.
func TestRestrictedFilesOnlyUnderImportFolders(t *testing.T) {
	video := media(t, "vtest.avi")
	elsewhere := t.TempDir()
	link := filepath.Join(elsewhere, "link.avi") // a link in the import folder leading out
	if err := os.Symlink(video, link); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"file://" + video, video, "file://" + link} {
		src := Open(context.Background(), Options{URL: url, NoRealtime: true, RestrictFiles: true, ImportDirs: []string{elsewhere}, Logger: quietLogger()})
		c := consume(src)
		<-c.done
		if st := src.Status(); c.n.Load() != 0 || st.State != StateError || st.Reason != ErrNotImported.Error() {
			t.Errorf("%s: %d frames, status %s %q", url, c.n.Load(), st.State, st.Reason)
		}
		src.Close()
	}
	src := Open(context.Background(), Options{URL: "file://" + video, NoRealtime: true, RestrictFiles: true,
		ImportDirs: []string{filepath.Dir(video)}, Logger: quietLogger()})
	defer src.Close()
	c := consume(src)
	testkit.WaitFor(t, 10*time.Second, "frames of an imported file", func() bool { return c.n.Load() > 0 })
}
