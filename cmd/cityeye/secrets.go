package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// A process's command line is readable by every local user (ps, /proc/PID/cmdline),
// so a worker takes its secrets (API token, database password, S3 secret key) from
// a file or an environment variable, never from a flag.

// secret is one secret setting: the value from the --NAME-file file, else the first
// environment variable set.
type secret struct {
	flag string   // the flag naming the file, e.g. "token-file"
	file string   // its value
	envs []string // environment variables, in order of preference
}

func (s secret) value() (string, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", s.flag, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	for _, e := range s.envs {
		if v := strings.TrimSpace(os.Getenv(e)); v != "" {
			return v, nil
		}
	}
	return "", nil
}

// errSecretOnCommandLine refuses a secret given as a flag, saying where it goes.
func errSecretOnCommandLine(flag string, s secret) error {
	return fmt.Errorf("--%s: secrets on the command line are visible to every user of the machine (ps); use --%s FILE or %s",
		flag, s.flag, strings.Join(s.envs, " / "))
}

var dsnPasswordRE = regexp.MustCompile(`(^|\s)password\s*=`)

// dsnHasPassword reports whether a PostgreSQL DSN (URL or key=value) carries a password.
func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, ok := u.User.Password()
		return ok || u.Query().Has("password")
	}
	return dsnPasswordRE.MatchString(dsn)
}

// s3HasSecret reports whether an S3 config JSON carries a secret key.
func s3HasSecret(js string) bool {
	var c struct {
		SecretKey string `json:"secret_key"`
	}
	return json.Unmarshal([]byte(js), &c) == nil && c.SecretKey != ""
}

// workerSecrets resolves the remote worker's token, DSN and S3 config. The token
// only from a file or the environment; the DSN and S3 config may be flags as long
// as they hold no password or secret key (a DSN can leave it to ~/.pgpass).
func workerSecrets(tokenFlag, tokenFile, dsnFlag, dsnFile, s3Flag, s3File string) (token, dsn, s3 string, err error) {
	tok := secret{"token-file", tokenFile, []string{"CITYEYE_WORKER_TOKEN", "CITYEYE_TOKEN"}}
	db := secret{"database-file", dsnFile, []string{"CITYEYE_DATABASE"}}
	s3s := secret{"s3-file", s3File, []string{"CITYEYE_S3"}}
	switch {
	case tokenFlag != "":
		return "", "", "", errSecretOnCommandLine("token", tok)
	case dsnHasPassword(dsnFlag):
		return "", "", "", errSecretOnCommandLine("database (with a password)", db)
	case s3HasSecret(s3Flag):
		return "", "", "", errSecretOnCommandLine("s3 (with a secret_key)", s3s)
	}
	if token, err = tok.value(); err != nil {
		return
	}
	if dsn = dsnFlag; dsn == "" {
		if dsn, err = db.value(); err != nil {
			return
		}
	}
	if s3 = s3Flag; s3 == "" {
		s3, err = s3s.value()
	}
	return
}
