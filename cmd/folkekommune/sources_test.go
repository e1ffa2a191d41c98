package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSourcesCheckPullAndList(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	data := filepath.Join(dir, "data")
	if g := runCmd(t, "", "generate", "--out", drop, "--scale", "small", "--seed", "9"); g.code != 0 {
		t.Fatalf("generate: %s", g.stderr)
	}
	file := filepath.Join(dir, "sources.yaml")
	os.WriteFile(file, []byte(`sources:
  - name: register
    kind: filedrop
    folder: drop
    datasets: [population, growth, vaccination, gp_contact, care]
    schedule: {every: 24h, at: "02:00"}
  - name: care-only
    kind: filedrop
    folder: nowhere
    datasets: [care]
`), 0o644)

	c := runCmd(t, "", "sources", "check", "--sources", file)
	if c.code == 0 || !strings.Contains(c.stdout, "ok    register") || !strings.Contains(c.stdout, "FAIL  care-only") ||
		!strings.Contains(c.stdout, "nowhere: no such file or directory") || !strings.Contains(c.stderr, "1 of 2 sources failed") {
		t.Fatalf("check: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}

	p := runCmd(t, "", "sources", "pull", "register", "--sources", file, "--data", data)
	if p.code != 0 || !strings.Contains(p.stdout, "extract 1 (register, full) loaded") || !strings.Contains(p.stdout, "kuhr/kontakter.csv") {
		t.Fatalf("pull: exit %d\n%s%s", p.code, p.stdout, p.stderr)
	}
	again := runCmd(t, "", "sources", "pull", "register", "--sources", file, "--data", data)
	if again.code != 0 || !strings.Contains(again.stdout, "nothing to do") {
		t.Fatalf("pull again: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}

	l := runCmd(t, "", "sources", "list", "--sources", file, "--data", data)
	lines := strings.Split(strings.TrimSpace(l.stdout), "\n")
	if l.code != 0 || len(lines) != 3 || !strings.Contains(lines[1], "every 24h at 02:00 Europe/Oslo") ||
		!strings.Contains(lines[1], "loaded") || !strings.Contains(lines[1], "(extract 1,") || !strings.HasSuffix(strings.TrimSpace(lines[2]), "-") {
		t.Fatalf("list: exit %d\n%s%s", l.code, l.stdout, l.stderr)
	}
}

func TestSourcesFileProblemsStopEveryCommandAndServe(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sources.yaml")
	os.WriteFile(file, []byte("sources:\n  - name: x\n    kind: filedrop\n    foldr: drop\n    datasets: [care]\n"), 0o644)
	for _, args := range [][]string{
		{"sources", "list", "--sources", file},
		{"sources", "check", "--sources", file},
		{"sources", "pull", "x", "--sources", file, "--data", dir},
		{"serve", "--sources", file, "--data", dir, "--addr", "127.0.0.1:0"},
	} {
		r := runCmd(t, "", args...)
		if r.code == 0 || !strings.Contains(r.stderr, `line 4: source "x": "foldr" is not a field of a source (did you mean "folder"?)`) {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := runCmd(t, "", "sources", "list"); r.code == 0 || !strings.Contains(r.stderr, "FOLKEKOMMUNE_SOURCES") {
		t.Errorf("list without a file: exit %d %q", r.code, r.stderr)
	}
	if r := runCmd(t, "", "sources", "pull", "y", "--sources", filepath.Join("..", "..", "broker", "sources", "testdata", "bad", "every-problem.yaml")); r.code == 0 || strings.Contains(r.stderr, "hemmelig") {
		t.Errorf("pull from a bad file: exit %d %q", r.code, r.stderr)
	}
}

// TestServeRunsTheSourcesSchedule starts the built broker with a sources
// file whose one source was never pulled: the schedule catches it up at
// start, the API reports it, and SIGTERM stops the broker cleanly.
func TestServeRunsTheSourcesSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the broker")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if g := runCmd(t, "", "generate", "--out", filepath.Join(dir, "drop"), "--scale", "small", "--seed", "4"); g.code != 0 {
		t.Fatalf("generate: %s", g.stderr)
	}
	file := filepath.Join(dir, "sources.yaml")
	os.WriteFile(file, []byte("sources:\n  - {name: register, kind: filedrop, folder: drop, datasets: [population, growth, vaccination, gp_contact, care], schedule: {every: 24h, at: \"02:00\"}}\n"), 0o644)
	tok := runCmd(t, "", "token", "create", "--data", data, "--user", "ops", "--role", "admin")
	if tok.code != 0 {
		t.Fatalf("token: %s", tok.stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(binary, "serve", "--data", data, "--addr", addr)
	cmd.Env = append(os.Environ(), "FOLKEKOMMUNE_SOURCES="+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var src struct {
		Schedule string
		NextRun  *time.Time `json:"next_run"`
		LastPull *struct {
			Status     string
			RowsLoaded int64 `json:"rows_loaded"`
		} `json:"last_pull"`
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/sources/register", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.stdout))
		if res, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(res.Body).Decode(&src)
			res.Body.Close()
			if src.LastPull != nil && src.LastPull.Status == "loaded" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the source was not pulled at start: %+v\n%s", src, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if src.LastPull.RowsLoaded == 0 || src.NextRun == nil || src.Schedule != "every 24h at 02:00 Europe/Oslo" {
		t.Errorf("source: %+v", src)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "source: pull done") || !strings.Contains(stderr.String(), "trigger=schedule") {
		t.Errorf("the log lacks the scheduled pull:\n%s", stderr.String())
	}
}
