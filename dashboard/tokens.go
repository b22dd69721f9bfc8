package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Role is what a token may do.
type Role string

// Roles.
const (
	// RoleSupervisor may do everything.
	RoleSupervisor Role = "supervisor"
	// RoleAgent sees and changes its own agent's state, its tickets (assigned to it) and the
	// callbacks of its queues.
	RoleAgent Role = "agent"
	// RoleIntegration is for other systems (CRM, helpdesk, chat): contacts and tickets.
	RoleIntegration Role = "integration"
)

// Roles lists every role.
var Roles = []Role{RoleSupervisor, RoleAgent, RoleIntegration}

// ErrUnknownToken: no token has this ID.
var ErrUnknownToken = errors.New("dashboard: unknown token")

// TokensFile is the name of the tokens file in the data directory.
const TokensFile = "tokens.json"

// LoginTTL is how long a one-time login link stays valid.
const LoginTTL = 24 * time.Hour

// Token is an API token as stored: only the SHA-256 of its secret is kept.
type Token struct {
	ID        string    `json:"id"`
	Role      Role      `json:"role"`
	Agent     string    `json:"agent,omitempty"` // the agent an agent token acts for
	Name      string    `json:"name,omitempty"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

type loginCode struct {
	SHA256    string    `json:"sha256"`
	TokenID   string    `json:"token_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type tokenFile struct {
	Version int         `json:"version"`
	Tokens  []Token     `json:"tokens"`
	Logins  []loginCode `json:"logins"`
}

// Tokens is the token store: a JSON document holding each token's role and the SHA-256 of its
// secret, and the hashes of unused one-time login codes. On one node it is a file (mode 0600)
// in the data directory; several processes may use it (hotline serve and hotline token):
// writes take a file lock and replace the file atomically. The nodes of a site keep it in their
// shared store instead (OpenSharedTokens), so a token works on every node. Either way readers
// pick up changes within a second.
type Tokens struct {
	path string
	doc  DocumentStore // nil: the file at path
	now  func() time.Time

	mu      sync.Mutex
	cur     tokenFile
	byHash  map[string]Token
	stamp   fileStamp
	checked time.Time
}

type fileStamp struct {
	mod     time.Time
	size    int64
	ok      bool
	version int64 // of the shared document
}

// DocumentStore keeps named documents every node of a site reads (customers.Store).
type DocumentStore interface {
	Document(ctx context.Context, name string) ([]byte, int64, error)
	DocumentVersion(ctx context.Context, name string) (int64, error)
	UpdateDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) (int64, error)
}

// tokensDocument is the shared store's document holding the tokens.
const tokensDocument = "tokens"

// storeTimeout bounds a read or write of the shared tokens document.
const storeTimeout = 5 * time.Second

// OpenSharedTokens opens the tokens kept in a site's shared store. The first time, the tokens
// of this node's file in dataDir (if any) are copied there, so a node that joins a site keeps
// the tokens it had.
func OpenSharedTokens(store DocumentStore, dataDir string, now func() time.Time) (*Tokens, error) {
	if now == nil {
		now = time.Now
	}
	t := &Tokens{path: filepath.Join(dataDir, TokensFile), doc: store, now: now}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if v, err := store.DocumentVersion(ctx, tokensDocument); err != nil {
		return nil, fmt.Errorf("dashboard: tokens: %w", err)
	} else if v == 0 && dataDir != "" {
		local, err := readTokenFile(t.path)
		if err != nil {
			return nil, err
		}
		if len(local.Tokens) > 0 {
			err := t.update(func(f *tokenFile) error {
				for _, tk := range local.Tokens {
					if !slices.ContainsFunc(f.Tokens, func(o Token) bool { return o.ID == tk.ID }) {
						f.Tokens = append(f.Tokens, tk)
					}
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(true); err != nil {
		return nil, err
	}
	return t, nil
}

// OpenTokens opens (without creating) the tokens file in dataDir.
func OpenTokens(dataDir string, now func() time.Time) (*Tokens, error) {
	if dataDir == "" {
		return nil, errors.New("dashboard: no data directory for the tokens file")
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{path: filepath.Join(dataDir, TokensFile), now: now}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(true); err != nil {
		return nil, err
	}
	return t, nil
}

// Path is the tokens file ("" when they are kept in the shared store).
func (t *Tokens) Path() string {
	if t.doc != nil {
		return ""
	}
	return t.path
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func randomSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return "tk_" + hex.EncodeToString(b[:])
}

// reload re-reads the file if it changed (checked at most once a second unless force).
func (t *Tokens) reload(force bool) error {
	now := time.Now()
	if !force && now.Sub(t.checked) < time.Second {
		return nil
	}
	t.checked = now
	if t.doc != nil {
		return t.reloadShared(force)
	}
	st, err := os.Stat(t.path)
	var stamp fileStamp
	if err == nil {
		stamp = fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	if !force && stamp == t.stamp {
		return nil
	}
	f, err := readTokenFile(t.path)
	if err != nil {
		return err
	}
	t.set(f, stamp)
	return nil
}

// reloadShared re-reads the shared document if its version moved.
func (t *Tokens) reloadShared(force bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	v, err := t.doc.DocumentVersion(ctx, tokensDocument)
	if err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	if !force && t.stamp.ok && v == t.stamp.version {
		return nil
	}
	data, v, err := t.doc.Document(ctx, tokensDocument)
	if err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	f, err := parseTokens(data, "the shared store's tokens")
	if err != nil {
		return err
	}
	t.set(f, fileStamp{ok: true, version: v})
	return nil
}

func (t *Tokens) set(f tokenFile, stamp fileStamp) {
	t.cur, t.stamp = f, stamp
	t.byHash = map[string]Token{}
	for _, tk := range f.Tokens {
		t.byHash[tk.SHA256] = tk
	}
}

func readTokenFile(path string) (tokenFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tokenFile{Version: 1}, nil
	}
	if err != nil {
		return tokenFile{}, fmt.Errorf("dashboard: tokens: %w", err)
	}
	return parseTokens(b, "file "+path)
}

// parseTokens reads a tokens document (empty: none yet).
func parseTokens(b []byte, where string) (tokenFile, error) {
	if len(b) == 0 {
		return tokenFile{Version: 1}, nil
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return tokenFile{}, fmt.Errorf("dashboard: tokens %s: %w", where, err)
	}
	return f, nil
}

// change applies fn to a tokens document and drops expired login codes.
func (t *Tokens) change(f *tokenFile, fn func(f *tokenFile) error) ([]byte, error) {
	if err := fn(f); err != nil {
		return nil, err
	}
	now := t.now()
	f.Logins = slices.DeleteFunc(f.Logins, func(l loginCode) bool { return !now.Before(l.ExpiresAt) })
	f.Version = 1
	return json.MarshalIndent(f, "", "  ")
}

// updateShared changes the shared document under its row lock.
func (t *Tokens) updateShared(fn func(f *tokenFile) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var f tokenFile
	v, err := t.doc.UpdateDocument(ctx, tokensDocument, func(old []byte) ([]byte, error) {
		var err error
		if f, err = parseTokens(old, "the shared store's tokens"); err != nil {
			return nil, err
		}
		return t.change(&f, fn)
	})
	if err != nil {
		return err
	}
	t.set(f, fileStamp{ok: true, version: v})
	return nil
}

// update changes the file under an exclusive lock, from its current content.
func (t *Tokens) update(fn func(f *tokenFile) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.doc != nil {
		return t.updateShared(fn)
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o750); err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	lock, err := os.OpenFile(t.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("dashboard: tokens: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	f, err := readTokenFile(t.path)
	if err != nil {
		return err
	}
	b, err := t.change(&f, fn)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.path), ".tokens-*.json")
	if err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), t.path); err != nil {
		return fmt.Errorf("dashboard: tokens: %w", err)
	}
	st, err := os.Stat(t.path)
	stamp := fileStamp{}
	if err == nil {
		stamp = fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	}
	t.set(f, stamp)
	return nil
}

var agentIDRE = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)

// Create makes a token and returns its secret, which is shown once and never stored. An agent
// token names the agent it acts for.
func (t *Tokens) Create(role Role, agent, name string) (string, Token, error) {
	switch role {
	case RoleSupervisor, RoleIntegration:
		if agent != "" {
			return "", Token{}, fmt.Errorf("dashboard: only an agent token names an agent (role %s)", role)
		}
	case RoleAgent:
		if !agentIDRE.MatchString(agent) {
			return "", Token{}, fmt.Errorf("dashboard: an agent token needs the agent's ID (letters, digits, . _ @ + -), got %q", agent)
		}
	default:
		return "", Token{}, fmt.Errorf("dashboard: role %q: use supervisor, agent or integration", role)
	}
	if len(name) > 100 {
		return "", Token{}, errors.New("dashboard: a token name has at most 100 characters")
	}
	secret := randomSecret("hl_")
	tk := Token{ID: randomID(), Role: role, Agent: agent, Name: name, SHA256: hashSecret(secret), CreatedAt: t.now().UTC().Truncate(time.Second)}
	err := t.update(func(f *tokenFile) error {
		f.Tokens = append(f.Tokens, tk)
		return nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, tk, nil
}

// LoginCode makes a one-time code that opens a browser session for the token; it is valid
// for ttl (LoginTTL if 0) and only once.
func (t *Tokens) LoginCode(tokenID string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = LoginTTL
	}
	code := randomSecret("hlc_")
	err := t.update(func(f *tokenFile) error {
		if !slices.ContainsFunc(f.Tokens, func(tk Token) bool { return tk.ID == tokenID }) {
			return fmt.Errorf("%w: %s", ErrUnknownToken, tokenID)
		}
		f.Logins = append(f.Logins, loginCode{SHA256: hashSecret(code), TokenID: tokenID, ExpiresAt: t.now().Add(ttl).UTC()})
		return nil
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// Verify returns the token a secret belongs to.
func (t *Tokens) Verify(secret string) (Token, bool) {
	if !strings.HasPrefix(secret, "hl_") || len(secret) > 100 {
		return Token{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(false); err != nil {
		return Token{}, false
	}
	tk, ok := t.byHash[hashSecret(secret)]
	return tk, ok
}

// ByID returns a token by ID (to check that a session's token was not revoked).
func (t *Tokens) ByID(id string) (Token, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(false); err != nil {
		return Token{}, false
	}
	for _, tk := range t.cur.Tokens {
		if tk.ID == id {
			return tk, true
		}
	}
	return Token{}, false
}

// Redeem uses a one-time login code: it returns the token it opens and deletes the code.
func (t *Tokens) Redeem(code string) (Token, bool) {
	if !strings.HasPrefix(code, "hlc_") || len(code) > 100 {
		return Token{}, false
	}
	h := hashSecret(code)
	var out Token
	found := false
	err := t.update(func(f *tokenFile) error {
		i := slices.IndexFunc(f.Logins, func(l loginCode) bool { return l.SHA256 == h })
		if i < 0 {
			return nil
		}
		l := f.Logins[i]
		f.Logins = slices.Delete(f.Logins, i, i+1)
		if !t.now().Before(l.ExpiresAt) {
			return nil
		}
		for _, tk := range f.Tokens {
			if tk.ID == l.TokenID {
				out, found = tk, true
			}
		}
		return nil
	})
	return out, err == nil && found
}

// List returns every token (without secrets), oldest first.
func (t *Tokens) List() ([]Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.reload(true); err != nil {
		return nil, err
	}
	return slices.Clone(t.cur.Tokens), nil
}

// Revoke deletes a token; its sessions end with it.
func (t *Tokens) Revoke(id string) error {
	return t.update(func(f *tokenFile) error {
		n := len(f.Tokens)
		f.Tokens = slices.DeleteFunc(f.Tokens, func(tk Token) bool { return tk.ID == id })
		if len(f.Tokens) == n {
			return fmt.Errorf("%w: %s", ErrUnknownToken, id)
		}
		f.Logins = slices.DeleteFunc(f.Logins, func(l loginCode) bool { return l.TokenID == id })
		return nil
	})
}

// HasRole reports whether any token has the role.
func (t *Tokens) HasRole(r Role) (bool, error) {
	list, err := t.List()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(list, func(tk Token) bool { return tk.Role == r }), nil
}
