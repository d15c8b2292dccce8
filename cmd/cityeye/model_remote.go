package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// The vendor side of the warehouse: push, list, publish and roll back through the
// API, authenticated with a token (--token, CITYEYE_TOKEN or --token-file).

type apiClient struct {
	base, token string
	http        *http.Client
}

func clientFlags(fs *flag.FlagSet) func() (*apiClient, error) {
	server := fs.String("server", envOr("CITYEYE_SERVER", "http://127.0.0.1:8080"), "CityEye API base URL (CITYEYE_SERVER)")
	token := fs.String("token", "", "API token (default CITYEYE_TOKEN, then --token-file)")
	tokenFile := fs.String("token-file", "./data/admin.token", "file holding the API token")
	return func() (*apiClient, error) {
		tok := *token
		if tok == "" {
			tok = os.Getenv("CITYEYE_TOKEN")
		}
		if tok == "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				return nil, fmt.Errorf("no token: pass --token, set CITYEYE_TOKEN or point --token-file at one (%v)", err)
			}
			tok = strings.TrimSpace(string(b))
		}
		return &apiClient{base: strings.TrimRight(*server, "/"), token: tok, http: &http.Client{Timeout: 10 * time.Minute}}, nil
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// do sends a request and decodes a JSON answer; a non-2xx answer is an error
// carrying the server's message and field.
func (c *apiClient) do(method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s unreachable: %w (is `cityeye serve` running? --server)", c.base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Field string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

type versionJSON struct {
	Vendor, Name, Version, Task, State, Stage string
	Progress                                  int
	Report                                    *struct {
		Passed bool
		Checks []struct {
			Name, Detail string
			OK           bool
		}
	}
	Benchmark []struct {
		Provider  string
		BatchSize int     `json:"batch_size"`
		LatencyMS float64 `json:"latency_ms"`
		FPS       float64
	}
}

func modelPush(args []string) error {
	fs := newFlags("model push", "model push --manifest FILE --model FILE.onnx [--file FILE]… [--no-wait]")
	manifest := fs.String("manifest", "", "manifest JSON (docs/model-manifest.md)")
	model := fs.String("model", "", "the ONNX file")
	var extra multiFlag
	fs.Var(&extra, "file", "an extra file named in manifest.files (repeatable): dictionary, sample image")
	noWait := fs.Bool("no-wait", false, "return after the upload instead of following validation")
	client := clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *manifest == "" || *model == "" {
		return fmt.Errorf("--manifest and --model are required")
	}
	c, err := client()
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mj, err := os.ReadFile(*manifest)
	if err != nil {
		return err
	}
	mw.WriteField("manifest", string(mj))
	for _, p := range append([]string{*model}, extra...) {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		part := "files"
		if p == *model {
			part = "model"
		}
		w, _ := mw.CreateFormFile(part, filepath.Base(p))
		w.Write(b)
	}
	mw.Close()
	var v versionJSON
	if err := c.do(http.MethodPost, "/api/v1/warehouse/models", mw.FormDataContentType(), &body, &v); err != nil {
		return err
	}
	fmt.Printf("uploaded %s/%s@%s (%s)\n", v.Vendor, v.Name, v.Version, v.State)
	if *noWait {
		return nil
	}
	path := "/api/v1/warehouse/models/" + v.Vendor + "/" + v.Name + "/" + v.Version
	for v.State == "uploaded" || v.State == "validating" {
		progressBar(os.Stderr, v.Progress, v.Stage)
		time.Sleep(300 * time.Millisecond)
		if err := c.do(http.MethodGet, path, "", nil, &v); err != nil {
			return err
		}
	}
	progressBar(os.Stderr, 100, v.State)
	fmt.Fprintln(os.Stderr)
	printVersion(v)
	if v.State == "rejected" {
		return fmt.Errorf("%s/%s@%s was rejected", v.Vendor, v.Name, v.Version)
	}
	return nil
}

// progressBar redraws one line: [#####.....]  45% benchmark
func progressBar(w io.Writer, pct int, stage string) {
	n := max(0, min(30, pct*30/100))
	fmt.Fprintf(w, "\r[%s%s] %3d%% %-12s", strings.Repeat("#", n), strings.Repeat(".", 30-n), pct, stage)
}

func printVersion(v versionJSON) {
	fmt.Printf("%s/%s@%s: %s\n", v.Vendor, v.Name, v.Version, v.State)
	if v.Report != nil {
		for _, c := range v.Report.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Printf("  %s %s: %s\n", mark, c.Name, c.Detail)
		}
	}
	for _, b := range v.Benchmark {
		fmt.Printf("  benchmark %s batch %d: %.1f ms/batch, %.1f frames/s\n", b.Provider, b.BatchSize, b.LatencyMS, b.FPS)
	}
}

func modelRemoteList(args []string) error {
	fs := newFlags("model list", "model list [--local [--repo DIR]] [--vendor V] [--task T] [--label L] [--state S]")
	local := fs.Bool("local", false, "list this machine's model repository instead of the warehouse")
	repo := fs.String("repo", defaultRepo(), "model repository folder (with --local)")
	var filters [5]string
	names := []string{"vendor", "name", "task", "label", "state"}
	for i, n := range names {
		fs.StringVar(&filters[i], n, "", "only versions with this "+n)
	}
	client := clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *local {
		return listLocal(*repo)
	}
	c, err := client()
	if err != nil {
		return err
	}
	q := []string{}
	for i, n := range names {
		if filters[i] != "" {
			q = append(q, n+"="+filters[i])
		}
	}
	var out struct{ Models []versionJSON }
	if err := c.do(http.MethodGet, "/api/v1/warehouse/models?"+strings.Join(q, "&"), "", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tNAME\tVERSION\tTASK\tSTATE\tFPS (batch 1)")
	for _, v := range out.Models {
		fps := "-"
		if len(v.Benchmark) > 0 {
			fps = fmt.Sprintf("%.1f %s", v.Benchmark[0].FPS, v.Benchmark[0].Provider)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Vendor, v.Name, v.Version, v.Task, v.State, fps)
	}
	return tw.Flush()
}

func modelPublish(args []string) error {
	fs := newFlags("model publish", "model publish VENDOR/NAME@VERSION")
	client := clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	ref, version := splitRef(fs.Arg(0))
	if fs.NArg() != 1 || version == "" || strings.Count(ref, "/") != 1 {
		return fmt.Errorf("want one VENDOR/NAME@VERSION")
	}
	c, err := client()
	if err != nil {
		return err
	}
	var v versionJSON
	if err := c.do(http.MethodPost, "/api/v1/warehouse/models/"+ref+"/"+version+"/publish", "", nil, &v); err != nil {
		return err
	}
	if v.State != "published" { // a vendor's call is a request the platform admin approves
		fmt.Printf("requested publishing %s/%s@%s; it is published once the platform admin approves\n", v.Vendor, v.Name, v.Version)
		return nil
	}
	fmt.Printf("published %s/%s@%s\n", v.Vendor, v.Name, v.Version)
	return nil
}

func modelRollback(args []string) error {
	fs := newFlags("model rollback", "model rollback VENDOR/NAME")
	client := clientFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || strings.Count(fs.Arg(0), "/") != 1 {
		return fmt.Errorf("want one VENDOR/NAME")
	}
	c, err := client()
	if err != nil {
		return err
	}
	var v versionJSON
	if err := c.do(http.MethodPost, "/api/v1/warehouse/models/"+fs.Arg(0)+"/rollback", "", nil, &v); err != nil {
		return err
	}
	fmt.Printf("rolled back: %s/%s@%s is published\n", v.Vendor, v.Name, v.Version)
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
