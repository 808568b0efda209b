package hub

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Option configures a Client.
type Option func(*config)

type config struct {
	endpoint   string
	token      string
	cacheDir   string
	offline    bool
	httpClient *http.Client
	progress   func(Progress)
	attempts   int
	retryDelay time.Duration
	userAgent  string
	// metaTimeout bounds each metadata request (HEAD, API); stallTimeout is how long a download
	// may receive nothing before it is treated as a dropped connection.
	metaTimeout  time.Duration
	stallTimeout time.Duration
}

// Progress reports the bytes of one file received so far. Total is -1 when the size is unknown.
// It is called from the downloading goroutine after each chunk written, and once with Done ==
// Total at the end.
type Progress struct {
	Repo  string
	Type  RepoType
	Path  string
	Done  int64
	Total int64
}

// WithEndpoint sets the Hub URL (default https://huggingface.co; a mirror or a test server).
func WithEndpoint(url string) Option {
	return func(c *config) { c.endpoint = strings.TrimRight(url, "/") }
}

// WithToken sets the access token sent as "Authorization: Bearer ..." to the Hub (never to other
// hosts a download is redirected to). An empty token sends none.
func WithToken(token string) Option { return func(c *config) { c.token = strings.TrimSpace(token) } }

// WithCacheDir sets the cache folder (the layout of huggingface_hub's HF_HUB_CACHE).
func WithCacheDir(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// WithOffline forbids network access: everything is resolved from the cache.
func WithOffline(offline bool) Option { return func(c *config) { c.offline = offline } }

// WithHTTPClient sets the HTTP client (its CheckRedirect is ignored: the client follows redirects
// itself so that the token never leaves the Hub).
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.httpClient = h } }

// WithProgress sets a callback receiving download progress.
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// WithRetry sets how many times a request is attempted when the Hub answers 429/5xx or the
// connection fails (default 3), and the delay before the first retry (default 500ms, doubled each
// time). Interrupted downloads resume with the same budget, reset whenever bytes arrive.
func WithRetry(attempts int, delay time.Duration) Option {
	return func(c *config) {
		if attempts < 1 {
			attempts = 1
		}
		c.attempts, c.retryDelay = attempts, delay
	}
}

// WithTimeouts sets how long a metadata request (HEAD on a file, repository info) may take, and how
// long a download may go without receiving a byte before it is treated as a dropped connection and
// resumed (both default 10s, huggingface_hub's HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT).
// Zero keeps the current value.
func WithTimeouts(metadata, stall time.Duration) Option {
	return func(c *config) {
		if metadata > 0 {
			c.metaTimeout = metadata
		}
		if stall > 0 {
			c.stallTimeout = stall
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// FromEnv configures the client the way huggingface_hub reads its environment:
//
//	HF_ENDPOINT                      Hub URL (default https://huggingface.co)
//	HF_TOKEN (HUGGING_FACE_HUB_TOKEN) access token; else the file HF_TOKEN_PATH (default $HF_HOME/token)
//	HF_HOME                          default $XDG_CACHE_HOME/huggingface, i.e. ~/.cache/huggingface
//	HF_HUB_CACHE (HUGGINGFACE_HUB_CACHE) cache folder (default $HF_HOME/hub)
//	HF_HUB_OFFLINE (TRANSFORMERS_OFFLINE) "1", "ON", "YES" or "TRUE" (any case): offline mode
//	HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT  seconds (default 10), see WithTimeouts
//
// Paths get "~" and $VAR expanded. Options given after FromEnv override it.
func FromEnv() Option { return FromEnvFunc(os.Getenv) }

// FromEnvFunc is FromEnv reading variables through getenv (tests pass a map lookup).
func FromEnvFunc(getenv func(string) string) Option {
	return func(c *config) {
		s := ResolveEnv(getenv)
		c.endpoint, c.token, c.cacheDir, c.offline = s.Endpoint, s.Token, s.CacheDir, s.Offline
		WithTimeouts(s.EtagTimeout, s.DownloadTimeout)(c)
	}
}

// EnvSettings are the Hub settings read from the environment (see FromEnv).
type EnvSettings struct {
	Endpoint string
	Token    string
	// TokenSource says where the token came from: "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", the token
	// file path, or "" when there is none.
	TokenSource string
	HFHome      string
	CacheDir    string
	Offline     bool
	// EtagTimeout and DownloadTimeout come from HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT
	// (whole seconds); zero when unset or invalid.
	EtagTimeout     time.Duration
	DownloadTimeout time.Duration
}

// ResolveEnv reads the settings FromEnv applies (for `embedtune env` and diagnostics).
func ResolveEnv(getenv func(string) string) EnvSettings {
	var s EnvSettings
	s.Endpoint = strings.TrimRight(getenv("HF_ENDPOINT"), "/")
	if s.Endpoint == "" {
		s.Endpoint = DefaultEndpoint
	}
	home := getenv("HF_HOME")
	if home == "" {
		xdg := getenv("XDG_CACHE_HOME")
		if xdg == "" {
			xdg = filepath.Join(userHome(getenv), ".cache")
		}
		home = filepath.Join(xdg, "huggingface")
	}
	s.HFHome = expandPath(home, getenv)
	cache := getenv("HF_HUB_CACHE")
	if cache == "" {
		cache = getenv("HUGGINGFACE_HUB_CACHE")
	}
	if cache == "" {
		cache = filepath.Join(s.HFHome, "hub")
	}
	s.CacheDir = expandPath(cache, getenv)
	off := getenv("HF_HUB_OFFLINE")
	if off == "" {
		off = getenv("TRANSFORMERS_OFFLINE")
	}
	switch strings.ToUpper(strings.TrimSpace(off)) {
	case "1", "ON", "YES", "TRUE":
		s.Offline = true
	}
	seconds := func(name string) time.Duration {
		n, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil || n <= 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	s.EtagTimeout, s.DownloadTimeout = seconds("HF_HUB_ETAG_TIMEOUT"), seconds("HF_HUB_DOWNLOAD_TIMEOUT")
	for _, name := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(getenv(name)); t != "" {
			s.Token, s.TokenSource = t, name
			return s
		}
	}
	tokenPath := getenv("HF_TOKEN_PATH")
	if tokenPath == "" {
		tokenPath = filepath.Join(s.HFHome, "token")
	}
	tokenPath = expandPath(tokenPath, getenv)
	if b, err := os.ReadFile(tokenPath); err == nil { // An unreadable token file means "no token", as in Python.
		if t := strings.TrimSpace(string(b)); t != "" {
			s.Token, s.TokenSource = t, tokenPath
		}
	}
	return s
}

func userHome(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "."
	}
	return h
}

// expandPath expands a leading "~" and $VAR / ${VAR} references, like Python's expanduser+expandvars.
func expandPath(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = userHome(getenv) + p[1:]
	}
	return os.Expand(p, func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return "$" + name // Python's expandvars leaves unknown variables as they are.
	})
}
