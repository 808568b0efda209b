package hub

import (
	"errors"
	"fmt"
)

// Error kinds, for errors.Is. Every error the client returns wraps at most one of them.
var (
	// ErrRepoNotFound: the repository does not exist, or it is private and no valid token was sent.
	ErrRepoNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: the repository exists but not the branch, tag or commit.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrEntryNotFound: the repository and revision exist but not the file.
	ErrEntryNotFound = errors.New("file not found in repository")
	// ErrUnauthorized: the Hub refused the request (401/403): missing or invalid token, or a gated
	// repository whose conditions the token's account has not accepted.
	ErrUnauthorized = errors.New("access denied")
	// ErrServer: the Hub answered with a 5xx or 429 status after the bounded retries.
	ErrServer = errors.New("server error")
	// ErrNotCached: offline (HF_HUB_OFFLINE=1, or the Hub could not be reached) and the requested
	// repository, revision or file is not in the local cache.
	ErrNotCached = errors.New("not in the local cache")
	// ErrIntegrity: the downloaded bytes do not match the size or checksum the Hub announced; the
	// download was discarded.
	ErrIntegrity = errors.New("download integrity check failed")
	// ErrProtocol: the server's answer lacks what a Hub endpoint must send (commit or ETag headers,
	// valid JSON) or names a file that would escape the cache.
	ErrProtocol = errors.New("unexpected answer from the Hub endpoint")
)

// HTTPError is an unsuccessful HTTP status from the Hub, classified into one of the error kinds.
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	// Code and Message are the Hub's X-Error-Code and X-Error-Message headers, when present.
	Code    string
	Message string
	// What names the object asked for, e.g. `dataset "org/name"` or `file "a.json" of model "org/name" at revision "main"`.
	What string
	kind error
}

// Error explains the status in terms of what to do about it.
func (e *HTTPError) Error() string {
	detail := ""
	if e.Message != "" {
		detail = " (" + e.Message + ")"
	}
	base := fmt.Sprintf("%s %s: HTTP %d%s", e.Method, e.URL, e.StatusCode, detail)
	switch {
	case errors.Is(e.kind, ErrRevisionNotFound):
		return fmt.Sprintf("hub: %s: revision not found: %s", e.What, base)
	case errors.Is(e.kind, ErrEntryNotFound):
		return fmt.Sprintf("hub: %s: file not found: %s", e.What, base)
	case errors.Is(e.kind, ErrRepoNotFound):
		return fmt.Sprintf("hub: %s: repository not found (check the id and the repository type; "+
			"a private or gated repository needs a token in HF_TOKEN): %s", e.What, base)
	case e.Code == "GatedRepo":
		return fmt.Sprintf("hub: %s: gated repository: accept its conditions on the Hub page and set HF_TOKEN "+
			"to a token of an account with access: %s", e.What, base)
	case errors.Is(e.kind, ErrUnauthorized):
		return fmt.Sprintf("hub: %s: access denied: set HF_TOKEN (or the token file $HF_HOME/token) to a valid "+
			"token with read access; a gated repository also needs its conditions accepted on the Hub: %s", e.What, base)
	case errors.Is(e.kind, ErrServer):
		return fmt.Sprintf("hub: %s: the Hub answered with a server error: %s", e.What, base)
	}
	return fmt.Sprintf("hub: %s: %s", e.What, base)
}

// Unwrap returns the error kind (ErrRepoNotFound, ErrUnauthorized, ...).
func (e *HTTPError) Unwrap() error { return e.kind }

// classify picks the error kind from the status and the Hub's X-Error-Code header. A 404 without
// a code means repository-not-found on API URLs and file-not-found on resolve URLs.
func classify(status int, code string, isResolve bool) error {
	switch code {
	case "RepoNotFound":
		return ErrRepoNotFound
	case "RevisionNotFound":
		return ErrRevisionNotFound
	case "EntryNotFound":
		return ErrEntryNotFound
	case "GatedRepo":
		return ErrUnauthorized
	}
	switch {
	case status == 401 || status == 403:
		return ErrUnauthorized
	case status == 404 && isResolve:
		return ErrEntryNotFound
	case status == 404:
		return ErrRepoNotFound
	case status == 429 || status >= 500:
		return ErrServer
	}
	return nil
}
