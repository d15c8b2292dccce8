package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// The schema is a series of numbered migrations, one folder per dialect, run by goose
// (github.com/pressly/goose/v3) at every open. goose records the ones applied in its
// table goose_db_version and applies the rest in order, each in a transaction with its
// version, so a migration cut short by a crash is applied again at the next start.
//
// To change the schema, add the next numbered file to BOTH folders, for instance
// migrations/sqlite/00002_alert_notes.sql and migrations/postgres/00002_alert_notes.sql,
// each with a "-- +goose Up" section (and "-- +goose Down" to undo it). Never edit a
// migration that has been released: databases that applied it will not run it again.
// A statement that holds semicolons (a trigger or function body) goes between
// "-- +goose StatementBegin" and "-- +goose StatementEnd".
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationLock is the PostgreSQL advisory lock key that serialises migrations
// (dialect.migrationLocker): every process opening the database takes it, for
// upgradeLegacy and again for goose, so only one changes the schema at a time and the
// others find the work done.
const migrationLock int64 = 0x43697479_45796531 // "CityEye1"

// migrateTarget, when > 0, stops migrate at that version: the adoption test checks
// the baseline alone, then the migrations after it (migrate_test.go).
var migrateTarget int64

// migrate brings the database up to the newest migration: first a database made
// before migrations began gets what the baseline cannot add (upgradeLegacy), then goose
// applies what is pending, then the optional extras (the plate trigram index) are
// made where the database allows.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	gd, dir := d.migrations()
	fsys, err := fs.Sub(migrationFiles, "migrations/"+dir)
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	locker, err := d.migrationLocker()
	if err != nil {
		return err
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return err
	}
	// the application role (pgroles.go) owns nothing and migrates nothing: the
	// owner does, with `cityeye db grant`; it only checks the schema is current
	if app, err := isAppRole(ctx, db, d); err != nil {
		return err
	} else if app {
		if pending, err := p.HasPending(ctx); err != nil || pending {
			return fmt.Errorf("the schema is not current (%v): run `cityeye db grant` with the owner's DSN first", err)
		}
		return nil
	}
	if err := upgradeLegacy(ctx, db, d, locker); err != nil {
		return fmt.Errorf("upgrade a database from before migrations: %w", err)
	}
	up := p.Up
	if migrateTarget > 0 {
		up = func(ctx context.Context) ([]*goose.MigrationResult, error) { return p.UpTo(ctx, migrateTarget) }
	}
	res, err := up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		slog.Info("store: migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	d.plateTrigram(ctx, db)
	return nil
}
