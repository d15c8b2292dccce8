package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/watermark"
)

// watermarkKey loads the data folder's watermark key, creating it on first use. The
// key never leaves the server: without it nobody can read or forge the invisible mark.
func watermarkKey(data string) ([]byte, error) { return dataKey(data, "watermark.key") }

// streamKey loads the key stream URLs (camera credentials) are encrypted with in the
// database, creating it on first use. Back it up with the watermark key: without it
// the stored stream URLs cannot be read.
func streamKey(data string) ([]byte, error) { return dataKey(data, "stream.key") }

// dataKey loads a 32-byte secret key from the data folder, creating it (mode 0600)
// on first use.
func dataKey(data, name string) ([]byte, error) {
	path := filepath.Join(data, name)
	k, err := os.ReadFile(path)
	if err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, found %d; restore it from backup (what was made with another key cannot be read)", path, len(k))
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	k = make([]byte, 32)
	rand.Read(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// runWatermarkInspect decodes the invisible mark of leaked snapshots back to the
// audit entry of the download that produced them.
func runWatermarkInspect(args []string) error {
	fset := newFlags("watermark inspect", "watermark inspect [--data DIR] [--database DSN] FILE…")
	data := fset.String("data", "./data", "the server's data folder (holds watermark.key and, embedded, the database)")
	dsn := fset.String("database", os.Getenv("CITYEYE_DATABASE"), "distributed mode: the PostgreSQL database holding the audit log (CITYEYE_DATABASE); empty: the data folder's SQLite")
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("name at least one image file")
	}
	keyPath := filepath.Join(*data, "watermark.key")
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("read the watermark key: %w (use --data with the server's data folder)", err)
	}
	ctx := context.Background()
	var db *store.DB
	if *dsn != "" {
		db, err = store.OpenPostgres(ctx, *dsn)
	} else {
		db, err = store.OpenSQLite(ctx, filepath.Join(*data, "cityeye.db"))
	}
	if err != nil {
		return err
	}
	defer db.Close()
	failed := 0
	for _, file := range fset.Args() {
		img, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		id, err := watermark.Extract(img, key)
		if err != nil {
			fmt.Printf("%s: %v\n", file, err)
			failed++
			continue
		}
		e, err := db.GetAudit(ctx, int64(id))
		if err != nil {
			fmt.Printf("%s: mark decodes to audit entry %d, which is not in this database: %v\n", file, id, err)
			failed++
			continue
		}
		b, _ := json.MarshalIndent(e, "", "  ")
		fmt.Printf("%s: downloaded by user %s of department %s at %s from %s (audit entry %d)\n%s\n", file, e.UserID, e.DeptID, e.At.Format("2006-01-02 15:04:05Z07:00"), e.Remote, e.ID, b)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files carry no readable mark", failed, fset.NArg())
	}
	return nil
}

func runWatermark(args []string) error {
	return subcommands("watermark", map[string]command{
		"inspect": {"decode a leaked snapshot's invisible mark to its download's audit entry", runWatermarkInspect},
	}, args)
}

func init() {
	register("watermark", "inspect the invisible watermark of served snapshots", runWatermark)
}
