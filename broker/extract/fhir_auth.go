package extract

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// SMART Backend Services authorisation: the broker signs a short-lived
// client-credentials JWT with its private key (ES384 for an EC P-384 key,
// RS384 for RSA) and exchanges it at the server's token endpoint for a
// bearer token. The JWT work is done by github.com/lestrrat-go/jwx/v3: it
// is maintained, handles JWT, JWS and JWK sets in one library, and is
// already in the module graph through OPA, so it adds no dependency.

// LoadFHIRKey reads the broker's PEM private key for SMART Backend
// Services (PKCS#8, or SEC 1 "EC PRIVATE KEY", or PKCS#1 "RSA PRIVATE KEY").
func LoadFHIRKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("FHIR client key: %w", errors.Unwrap(err))
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("FHIR client key %s is not a PEM file", path)
	}
	var key any
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("FHIR client key %s: %w", path, err)
	}
	s, ok := key.(crypto.Signer)
	if _, err := signingAlg(s); !ok || err != nil {
		return nil, fmt.Errorf("FHIR client key %s: want an EC P-384 or RSA key", path)
	}
	return s, nil
}

func signingAlg(key crypto.Signer) (jwa.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve.Params().BitSize != 384 {
			return jwa.SignatureAlgorithm{}, fmt.Errorf("an EC key for ES384 must be on P-384, not %s", k.Curve.Params().Name)
		}
		return jwa.ES384(), nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return jwa.SignatureAlgorithm{}, errors.New("an RSA key must have at least 2048 bits")
		}
		return jwa.RS384(), nil
	}
	return jwa.SignatureAlgorithm{}, fmt.Errorf("unsupported key type %T (want EC P-384 or RSA)", key)
}

// FHIRPublicJWKS returns the JWKS document a FHIR server registers for
// the broker: the public half of key under key id kid.
func FHIRPublicJWKS(key crypto.Signer, kid string) ([]byte, error) {
	alg, err := signingAlg(key)
	if err != nil {
		return nil, err
	}
	k, err := jwk.Import(key.Public())
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k.Set(jwk.KeyIDKey, kid)
	k.Set(jwk.AlgorithmKey, alg)
	set := jwk.NewSet()
	set.AddKey(k)
	return json.Marshal(set)
}

// tokenSource holds the current access token and gets a new one when it
// is missing, about to expire, or refused by the server.
type tokenSource struct {
	c *FHIRSource

	mu      sync.Mutex
	token   string
	expires time.Time
}

// get returns a valid access token, fetching one if needed; renew forces
// a new one (after the server answered 401).
func (t *tokenSource) get(ctx context.Context, renew bool) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !renew && t.token != "" && t.c.now().Add(30*time.Second).Before(t.expires) {
		return t.token, nil
	}
	tokenURL, err := t.c.tokenURL(ctx)
	if err != nil {
		return "", err
	}
	assertion, err := t.assertion(tokenURL)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {t.c.opt.Scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	err = t.c.do(ctx, "FHIR token request", false, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}, func(resp *http.Response) error {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err := json.Unmarshal(b, &tok); err != nil {
			return fmt.Errorf("FHIR token endpoint %s answered %s that is not JSON", tokenURL, resp.Status)
		}
		if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
			return fmt.Errorf("FHIR token endpoint %s refused the broker (%s): %s %s", tokenURL, resp.Status, tok.Error, tok.Description)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(tok.TokenType, "bearer") {
		return "", fmt.Errorf("FHIR token endpoint %s issued a %q token, want bearer", tokenURL, tok.TokenType)
	}
	t.token = tok.AccessToken
	t.expires = t.c.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	if tok.ExpiresIn <= 0 {
		t.expires = t.c.now().Add(time.Minute)
	}
	return t.token, nil
}

// assertion builds and signs the client-credentials JWT: issuer and
// subject the client id, audience the token endpoint, a unique id, and an
// expiry within the five minutes SMART allows.
func (t *tokenSource) assertion(tokenURL string) (string, error) {
	alg, err := signingAlg(t.c.opt.Key)
	if err != nil {
		return "", fmt.Errorf("FHIR client key: %w", err)
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	now := t.c.now()
	tok, err := jwt.NewBuilder().Issuer(t.c.opt.ClientID).Subject(t.c.opt.ClientID).Audience([]string{tokenURL}).
		IssuedAt(now).Expiration(now.Add(4 * time.Minute)).JwtID(hex.EncodeToString(jti)).Build()
	if err != nil {
		return "", fmt.Errorf("build client assertion: %w", err)
	}
	k, err := jwk.Import(t.c.opt.Key)
	if err != nil {
		return "", fmt.Errorf("FHIR client key: %w", err)
	}
	if t.c.opt.KeyID != "" {
		k.Set(jwk.KeyIDKey, t.c.opt.KeyID)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, k))
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return string(signed), nil
}
