package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// Roles a token can carry.
var Roles = []string{requests.RoleResearcher, requests.RoleCoordinator, requests.RolePrivacyOfficer, requests.RoleFoUContact, requests.RoleAdmin}

// User is an authenticated caller.
type User = requests.User

// Authenticator turns a request's credentials into a user. Bearer tokens
// are the one login path today; an OIDC login (Feide, HelseID) would be a
// second Authenticator that maps the identity provider's claims to a User,
// tried in turn by the middleware.
type Authenticator interface {
	// Authenticate returns the user, ErrNoCredentials when the request
	// carries none this authenticator understands, or another error when
	// the credentials fail.
	Authenticate(r *http.Request) (User, error)
}

// ErrNoCredentials means the request carries no credentials.
var ErrNoCredentials = errors.New("no credentials")

// errBadToken is the one message for every failed token, so that a caller
// learns nothing about which tokens exist.
var errBadToken = errors.New("the bearer token is not valid")

// TokenStore keeps bearer tokens, hashed, in the database.
type TokenStore struct {
	DB *store.DB
}

// tokenPrefix marks the broker's tokens, so that one pasted somewhere
// wrong can be recognised (secret scanners).
const tokenPrefix = "fk_"

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Create issues a token for user with role; municipality is the
// kommunenummer the user works for ("" for none). The token text is
// returned once and only its hash is stored.
func (ts *TokenStore) Create(ctx context.Context, user, role, municipality string) (id, token string, err error) {
	if strings.TrimSpace(user) == "" {
		return "", "", fmt.Errorf("user: none given")
	}
	if !ValidRole(role) {
		return "", "", fmt.Errorf("role %q: want one of %s", role, strings.Join(Roles, ", "))
	}
	if municipality != "" {
		if _, ok := catalog.MunicipalityByCode(municipality); !ok {
			return "", "", fmt.Errorf("municipality %q: not a kommunenummer of the collaboration", municipality)
		}
	}
	var idb [6]byte
	var secret [24]byte
	rand.Read(idb[:])
	rand.Read(secret[:])
	id = hex.EncodeToString(idb[:])
	token = tokenPrefix + id + "_" + hex.EncodeToString(secret[:])
	_, err = ts.DB.ExecContext(ctx, `INSERT INTO api_token (id, token_sha256, user_id, role, municipality, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, hashToken(token), user, role, municipality, time.Now().UTC())
	if err != nil {
		return "", "", fmt.Errorf("store token: %w", err)
	}
	return id, token, nil
}

// Revoke revokes the token with the given id, or every token of a user
// when user is set. It returns how many tokens it revoked.
func (ts *TokenStore) Revoke(ctx context.Context, id, user string) (int64, error) {
	var res sql.Result
	var err error
	now := time.Now().UTC()
	switch {
	case id != "":
		res, err = ts.DB.ExecContext(ctx, `UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, now, id)
	case user != "":
		res, err = ts.DB.ExecContext(ctx, `UPDATE api_token SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now, user)
	default:
		return 0, fmt.Errorf("name a token id or a user")
	}
	if err != nil {
		return 0, fmt.Errorf("revoke token: %w", err)
	}
	return res.RowsAffected()
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID           string     `json:"id"`
	User         string     `json:"user"`
	Role         string     `json:"role"`
	Municipality string     `json:"municipality,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

// List lists every token.
func (ts *TokenStore) List(ctx context.Context) ([]TokenInfo, error) {
	rows, err := ts.DB.QueryContext(ctx, `SELECT id, user_id, role, municipality, created_at, revoked_at FROM api_token ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var t TokenInfo
		var revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.User, &t.Role, &t.Municipality, &t.CreatedAt, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if revoked.Valid {
			r := revoked.Time.UTC()
			t.RevokedAt = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Authenticate reads "Authorization: Bearer <token>".
func (ts *TokenStore) Authenticate(r *http.Request) (User, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return User{}, ErrNoCredentials
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(strings.TrimSpace(tok), tokenPrefix) {
		return User{}, errBadToken
	}
	var u User
	err := ts.DB.QueryRowContext(r.Context(), `SELECT user_id, role, municipality FROM api_token WHERE token_sha256 = ? AND revoked_at IS NULL`,
		hashToken(strings.TrimSpace(tok))).Scan(&u.ID, &u.Role, &u.Municipality)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errBadToken
	}
	if err != nil {
		return User{}, fmt.Errorf("check token: %w", err)
	}
	return u, nil
}

type userKey struct{}

// UserFrom returns the authenticated user of a request.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// authenticate puts the caller (if any) in the request's context; a
// request with credentials that fail is answered 401 at once.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, a := range s.auth {
			u, err := a.Authenticate(r)
			if errors.Is(err, ErrNoCredentials) {
				continue
			}
			if err != nil {
				s.writeError(w, r, fmt.Errorf("%w: %v", errUnauthenticated, err))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			break
		}
		next.ServeHTTP(w, r)
	})
}

// requireRoles answers 401 without a user and 403 for a role not listed.
func (s *Server) requireRoles(roles []string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, r := range roles {
		allowed[r] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			s.writeError(w, r, errUnauthenticated)
			return
		}
		if !allowed[u.Role] {
			s.writeError(w, r, fmt.Errorf("%w: a %s may not do this", requests.ErrForbidden, u.Role))
			return
		}
		next.ServeHTTP(w, r)
	})
}
