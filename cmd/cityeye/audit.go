package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cityeye/cityeye/store"
)

// dbFlags are the flags of the commands that open the server's database directly:
// the data folder's SQLite database, or PostgreSQL with the DSN from a file or the
// environment (never the command line: it may carry a password).
func dbFlags(fs *flag.FlagSet) func(ctx context.Context) (*store.DB, error) {
	data := fs.String("data", "./data", "embedded mode: the server's data folder (its cityeye.db)")
	dsnFile := fs.String("database-file", "", "PostgreSQL: file holding the DSN (else CITYEYE_DATABASE); without either, the SQLite database of --data")
	return func(ctx context.Context) (*store.DB, error) {
		dsn, err := secret{"database-file", *dsnFile, []string{"CITYEYE_DATABASE"}}.value()
		if err != nil {
			return nil, err
		}
		if dsn != "" {
			return store.OpenPostgres(ctx, dsn)
		}
		path := filepath.Join(*data, "cityeye.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database: %w (use --data with the server's data folder, or --database-file / CITYEYE_DATABASE)", err)
		}
		return store.OpenSQLite(ctx, path)
	}
}

// runAuditVerify checks the audit log's hash chain and prints its head; exit status
// 1 when an entry was changed, deleted or the log truncated.
func runAuditVerify(args []string) error {
	fs := newFlags("audit verify", "audit verify [--data DIR | --database-file FILE] [--head ID:HASH] [--json]")
	open := dbFlags(fs)
	head := fs.String("head", "", "the head an earlier run printed (ID:HASH): detects a truncated or rewritten log")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var headID int64
	var headHash string
	if *head != "" {
		id, h, ok := strings.Cut(*head, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n <= 0 || len(h) != 64 {
			return fmt.Errorf("--head: want ID:HASH as printed by an earlier run, e.g. 1234:%s", strings.Repeat("0", 64))
		}
		headID, headHash = n, h
	}
	ctx := context.Background()
	db, err := open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.VerifyAudit(ctx, headID, headHash)
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Println(string(b))
	} else {
		for _, p := range r.Problems {
			fmt.Println("BROKEN:", p)
		}
		fmt.Printf("%d entries (%d before the chain began); head %d:%s\n", r.Entries, r.Legacy, r.HeadID, r.HeadHash)
	}
	if !r.OK() {
		return fmt.Errorf("the audit log was tampered with: %d problem(s)", len(r.Problems))
	}
	fmt.Println("audit log intact: keep the head line above elsewhere and pass it as --head next time")
	return nil
}

// runDBGrant migrates a PostgreSQL database as its owner and grants the application
// role the API servers connect as (rows of every table, but only INSERT and SELECT
// on the audit log) and the worker role the remote workers connect as (only what
// they write), store/pgroles.go.
func runDBGrant(args []string) error {
	fs := newFlags("db grant", "db grant --role ROLE [--worker-role ROLE]   (CITYEYE_DATABASE or --database-file: the owner's DSN)")
	dsnFile := fs.String("database-file", "", "file holding the owner's PostgreSQL DSN (else CITYEYE_DATABASE)")
	role := fs.String("role", "cityeye_app", "the application role of the API servers")
	workerRole := fs.String("worker-role", "", "the role of the remote workers (records, alerts, measures only); empty: none")
	if err := parse(fs, args); err != nil {
		return err
	}
	dsn, err := secret{"database-file", *dsnFile, []string{"CITYEYE_DATABASE"}}.value()
	if err != nil {
		return err
	}
	if dsn == "" {
		return fmt.Errorf("no database: set CITYEYE_DATABASE or --database-file to the owner's DSN")
	}
	ctx := context.Background()
	db, err := store.OpenPostgres(ctx, dsn) // migrates, as the owner
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.GrantApp(ctx, *role); err != nil {
		return err
	}
	fmt.Printf("schema current; role %s may use every table but only INSERT and SELECT audit_log: connect the API servers as %s\n", *role, *role)
	if *workerRole != "" {
		if err := db.GrantWorker(ctx, *workerRole); err != nil {
			return err
		}
		fmt.Printf("role %s may write records, alerts and measures and read nothing else: connect the remote workers as %s\n", *workerRole, *workerRole)
	}
	return nil
}

func init() {
	register("audit", "verify the audit log's hash chain", func(args []string) error {
		return subcommands("audit", map[string]command{
			"verify": {"check that no audit entry was changed or deleted; print the chain's head", runAuditVerify},
		}, args)
	})
	register("db", "PostgreSQL roles: migrate as the owner and grant the application and worker roles", func(args []string) error {
		return subcommands("db", map[string]command{
			"grant": {"migrate as the owner and grant the application role (audit log: INSERT and SELECT only) and the worker role", runDBGrant},
		}, args)
	})
}
