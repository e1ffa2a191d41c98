package broker

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRevokedTokensAndForgedTokensAre401(t *testing.T) {
	e := newEnv(t, template)
	ctx := context.Background()
	id, tok, err := e.srv.Tokens().Create(ctx, "ny.forsker", "researcher", "")
	if err != nil {
		t.Fatal(err)
	}
	if res := e.do(tok, "GET", "/api/v1/datasets", nil); res.status != 200 {
		t.Fatalf("fresh token: %d", res.status)
	}
	// Only the hash is stored.
	var n int
	e.db.QueryRow(`SELECT count(*) FROM api_token WHERE token_sha256 = ? OR id = ?`, tok, tok).Scan(&n)
	if n != 0 {
		t.Error("the token text is stored")
	}
	if got, err := e.srv.Tokens().Revoke(ctx, id, ""); err != nil || got != 1 {
		t.Fatalf("revoke: %d %v", got, err)
	}
	for _, bad := range []string{tok, tok[:len(tok)-1] + "0", "fk_" + strings.Repeat("a", 20), "not-a-token"} {
		res := e.do(bad, "GET", "/api/v1/datasets", nil)
		if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("token %q: %d", bad, res.status)
		}
	}
	list, err := e.srv.Tokens().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, ti := range list {
		if ti.RevokedAt != nil {
			revoked++
		}
	}
	if revoked != 1 {
		t.Errorf("%d revoked tokens listed", revoked)
	}
}

func TestTokenCreateRefusesBadInput(t *testing.T) {
	e := newEnv(t, template)
	for _, tc := range []struct{ user, role, muni, want string }{
		{"", "researcher", "", "user"},
		{"u", "superuser", "", "role"},
		{"u", "coordinator", "0301", "municipality"},
	} {
		if _, _, err := e.srv.Tokens().Create(context.Background(), tc.user, tc.role, tc.muni); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
}

func TestConfigComesFromTheEnvironmentAndIsChecked(t *testing.T) {
	t.Setenv(EnvData, "/srv/folkekommune")
	t.Setenv(EnvAddr, "0.0.0.0:9000")
	t.Setenv(EnvMaxBody, "1024")
	c := DefaultConfig()
	if c.DataDir != "/srv/folkekommune" || c.Addr != "0.0.0.0:9000" || c.MaxBody != 1024 || c.ShutdownTimeout != 20*time.Second {
		t.Errorf("config %+v", c)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.DataDir = "" }, "data directory"},
		{func(c *Config) { c.Addr = "" }, "address"},
		{func(c *Config) { c.PolicyDir = "/no/such/dir" }, "policy directory"},
		{func(c *Config) { c.MaxBody = 0 }, "max body"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("want an error about %s, got %v", tc.want, err)
		}
	}
}
