package hub

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// Client talks to a Hugging Face Hub endpoint and stores files in a huggingface_hub-compatible
// cache. It is safe for concurrent use, also by several processes sharing one cache.
type Client struct {
	cfg  config
	http *http.Client
}

// NewClient returns a client. Without options it uses https://huggingface.co, no token and the
// cache ~/.cache/huggingface/hub; pass FromEnv() to honour the HF_* variables.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{endpoint: DefaultEndpoint, attempts: 3, retryDelay: 500 * time.Millisecond,
		userAgent: "embedtune-hub/1 (go)", metaTimeout: 10 * time.Second, stallTimeout: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cacheDir == "" {
		cfg.cacheDir = ResolveEnv(func(string) string { return "" }).CacheDir
	}
	abs, err := filepath.Abs(cfg.cacheDir)
	if err != nil {
		return nil, fmt.Errorf("hub: cache folder %q: %w", cfg.cacheDir, err)
	}
	cfg.cacheDir = abs
	if err := checkEndpoint(cfg.endpoint); err != nil {
		return nil, err
	}
	base := cfg.httpClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport}
	}
	hc := *base
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, http: &hc}, nil
}

// Endpoint returns the Hub URL without a trailing slash.
func (c *Client) Endpoint() string { return c.cfg.endpoint }

// CacheDir returns the absolute cache folder.
func (c *Client) CacheDir() string { return c.cfg.cacheDir }

// Offline reports whether the client never touches the network.
func (c *Client) Offline() bool { return c.cfg.offline }

// HasToken reports whether requests to the Hub carry a token.
func (c *Client) HasToken() bool { return c.cfg.token != "" }

// RepoDir returns the cache folder of a repository ({cache}/datasets--org--name), which may not exist.
func (c *Client) RepoDir(t RepoType, repoID string) string {
	return filepath.Join(c.cfg.cacheDir, repoFolderName(t, repoID))
}

func describe(t RepoType, repoID string) string { return fmt.Sprintf("%s %q", t, repoID) }

func describeFile(t RepoType, repoID, rev, path string) string {
	return fmt.Sprintf("file %q of %s %q at revision %q", path, t, repoID, rev)
}

func validateArgs(t RepoType, repoID, rev string) error {
	if err := t.valid(); err != nil {
		return err
	}
	if err := validateRepoID(repoID); err != nil {
		return err
	}
	return validateRevision(rev)
}

// canFallBack reports whether a failed request should be answered from the cache, as
// huggingface_hub does: connection failures, server errors, unexpected answers, and also 401/403 and
// repository-not-found (a cached copy stays usable without a token); but not a revision or file the
// Hub says does not exist.
func canFallBack(err error) bool {
	if isTransient(err) || errors.Is(err, ErrProtocol) {
		return true
	}
	var he *HTTPError
	return errors.As(err, &he) && !errors.Is(err, ErrRevisionNotFound) && !errors.Is(err, ErrEntryNotFound)
}

// isTransient reports whether an error may go away by trying again or by using the cache:
// connection failures and 5xx/429 statuses.
func isTransient(err error) bool {
	var ne *netError
	return errors.As(err, &ne) || errors.Is(err, ErrServer)
}
