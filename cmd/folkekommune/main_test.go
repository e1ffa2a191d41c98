package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The command is tested as its users run it: a built binary, its exit
// code, its standard output and its one-line errors.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "folkekommune-cmd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "folkekommune")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build folkekommune: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type run struct {
	stdout, stderr string
	code           int
}

func runCmd(t *testing.T, stdin string, args ...string) run {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return run{out.String(), errb.String(), code}
}

func TestEverySubcommandHasHelp(t *testing.T) {
	root := runCmd(t, "", "--help")
	if root.code != 0 {
		t.Fatalf("--help exit %d: %s", root.code, root.stderr)
	}
	// Every registered subcommand, so a new one cannot ship without help.
	var subs []string
	for _, c := range rootCmd.Commands() {
		if !c.Hidden && c.Name() != "help" && c.Name() != "completion" {
			subs = append(subs, c.Name())
		}
	}
	if len(subs) < 12 {
		t.Fatalf("only %d subcommands registered: %v", len(subs), subs)
	}
	for _, sub := range subs {
		if !strings.Contains(root.stdout, sub) {
			t.Errorf("root help does not list %s", sub)
		}
		r := runCmd(t, "", sub, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%s --help: exit %d, %q", sub, r.code, r.stdout)
		}
	}
}

func TestGenerateThenPullThenPullAgain(t *testing.T) {
	extract := filepath.Join(t.TempDir(), "extract")
	data := filepath.Join(t.TempDir(), "data")
	g := runCmd(t, "", "generate", "--out", extract, "--scale", "small", "--seed", "5")
	if g.code != 0 || !strings.Contains(g.stdout, "kuhr/kontakter.csv") {
		t.Fatalf("generate: exit %d\n%s%s", g.code, g.stdout, g.stderr)
	}
	p := runCmd(t, "", "pull", "--data", data, "--from", extract)
	if p.code != 0 || !strings.Contains(p.stdout, "extract 1 loaded") || !strings.Contains(p.stdout, "quarantined") {
		t.Fatalf("pull: exit %d\n%s%s", p.code, p.stdout, p.stderr)
	}
	st, err := os.Stat(filepath.Join(data, "pseudonym.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	again := runCmd(t, "", "pull", "--data", data, "--from", extract)
	if again.code != 0 || !strings.Contains(again.stdout, "nothing to do") {
		t.Fatalf("second pull: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}
}

func TestUserErrorsAreOneLineWithANonZeroExit(t *testing.T) {
	data := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing extract folder", []string{"pull", "--data", data, "--from", filepath.Join(data, "nope")}, "extract folder"},
		{"pull without --from", []string{"pull", "--data", data}, `"from" not set`},
		{"unknown scale", []string{"generate", "--out", t.TempDir(), "--scale", "galactic"}, "unknown scale"},
		{"unknown subcommand", []string{"frobnicate"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, "", tc.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure; stdout %q", r.stdout)
			}
			msg := strings.TrimSpace(r.stderr)
			if !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 0 || strings.Contains(msg, "goroutine") {
				t.Fatalf("stderr = %q, want one line mentioning %q", msg, tc.want)
			}
		})
	}
}

// TestProtectFollowsTheContract pins DESIGN.md's protect contract: CSV in,
// the same rows plus status out, count empty where suppressed, bad input
// refused naming the row.
func TestProtectFollowsTheContract(t *testing.T) {
	golden := []struct {
		in, golden string
		args       []string
	}{
		{"care_users.csv", "care_users.k5.golden.csv", []string{"--k", "5"}},
		{"care_users.csv", "care_users.k5.rounded5.golden.csv", []string{"--k", "5", "--rounding", "5"}},
	}
	for _, g := range golden {
		in, err := os.ReadFile(filepath.Join("..", "..", "testdata", "protect", g.in))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "protect", g.golden))
		if err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, string(in), append([]string{"protect"}, g.args...)...)
		if r.code != 0 {
			t.Fatalf("protect %v: exit %d: %s", g.args, r.code, r.stderr)
		}
		if r.stdout != string(want) {
			t.Errorf("protect %v on %s differs from %s", g.args, g.in, g.golden)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Split(line, ",")
			status, count := f[len(f)-1], f[len(f)-2]
			if (status != "published") != (count == "") {
				t.Fatalf("row %q: count must be empty exactly when suppressed", line)
			}
		}
	}
	bad := []struct{ name, in, want string }{
		{"not additive", "sex,count\n_T,10\nM,4\nF,7\n", "line"},
		{"negative", "sex,count\n_T,3\nM,-1\nF,4\n", "line 3"},
		{"duplicate row", "sex,count\n_T,10\nM,4\nM,4\nF,6\n", "line 4"},
		{"missing row", "a,b,count\n_T,_T,10\n_T,x,4\n_T,y,6\nx,_T,4\ny,_T,6\nx,x,4\nx,y,0\ny,x,0\n", "missing"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := runCmd(t, b.in, "protect", "--k", "3")
			if r.code == 0 {
				t.Fatalf("accepted: %s", r.stdout)
			}
			if !strings.Contains(r.stderr, b.want) {
				t.Fatalf("stderr = %q, want it to mention %q", r.stderr, b.want)
			}
		})
	}
	if r := runCmd(t, "sex,count\n_T,10\nM,4\nF,6\n", "protect", "--k", "0"); r.code == 0 {
		t.Error("--k 0 accepted")
	}
}
