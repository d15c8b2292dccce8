package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 14 item 17: the worker refuses secrets on its command line, where every
// user of the machine reads them (ps, /proc/PID/cmdline), and says where they go.
func TestWorkerRefusesSecretsOnCommandLine(t *testing.T) {
	base := []string{"worker", "--server", "http://127.0.0.1:1", "--id", "w1"}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"token", []string{"--token", "cye_secret", "--database", "postgres://cityeye@127.0.0.1:1/x", "--s3", `{"endpoint":"x"}`}, nil, "--token-file"},
		{"dsn password", []string{"--database", "postgres://cityeye:pw@127.0.0.1:1/x", "--s3", `{"endpoint":"x"}`}, []string{"CITYEYE_WORKER_TOKEN=cye_x"}, "--database-file"},
		{"dsn password key=value", []string{"--database", "host=127.0.0.1 port=1 password=pw", "--s3", `{"endpoint":"x"}`}, []string{"CITYEYE_WORKER_TOKEN=cye_x"}, "--database-file"},
		{"s3 secret", []string{"--database", "postgres://cityeye@127.0.0.1:1/x", "--s3", `{"endpoint":"x","secret_key":"pw"}`}, []string{"CITYEYE_WORKER_TOKEN=cye_x"}, "--s3-file"},
	} {
		cmd := exec.Command(binary, append(base, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "command line") {
			t.Errorf("%s on the command line: %v\n%s\nwant a refusal pointing at %s", c.name, err, out, c.want)
		}
	}
	// from a file and the environment they are taken: the worker gets as far as the
	// database (here unreachable), past the checks
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("cye_x\n"), 0o600)
	cmd := exec.Command(binary, append(base, "--token-file", tok)...)
	cmd.Env = append(os.Environ(), "CITYEYE_DATABASE=postgres://cityeye:pw@127.0.0.1:1/x?connect_timeout=1", `CITYEYE_S3={"endpoint":"x","secret_key":"pw"}`)
	out, _ := cmd.CombinedOutput()
	if strings.Contains(string(out), "command line") || !strings.Contains(string(out), "PostgreSQL") {
		t.Errorf("secrets from a file and the environment: %s", out)
	}
}
