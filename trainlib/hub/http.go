package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// netError is a failure to exchange a request with a server (DNS, refused or dropped connection,
// timeout). It is transient: the client retries, resumes, or falls back to the cache.
type netError struct {
	method, url string
	err         error
}

func (e *netError) Error() string {
	return fmt.Sprintf("%s %s: cannot reach the server: %v", e.method, e.url, e.err)
}

func (e *netError) Unwrap() error { return e.err }

func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("hub: invalid endpoint %q (HF_ENDPOINT): want an http(s) URL such as %s", ep, DefaultEndpoint)
	}
	return nil
}

// origin is (scheme, host, port) with the scheme's default port filled in.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// isHubOrigin reports whether the token may be sent to target: the configured endpoint and the
// public Hub hosts, as huggingface_hub decides; CDN and storage hosts never receive it.
func (c *Client) isHubOrigin(target string) bool {
	o := origin(target)
	for _, h := range []string{c.cfg.endpoint, DefaultEndpoint, "https://hf.co"} {
		if o == origin(h) {
			return true
		}
	}
	return false
}

// request describes one logical HTTP call.
type request struct {
	method string
	url    string
	// what names the object for error messages.
	what string
	// resolve marks /resolve/ URLs (a 404 then means a missing file).
	resolve bool
	// followOffHub follows redirects to other hosts (GET of file contents); otherwise the redirect
	// response itself is returned (HEAD metadata, like huggingface_hub).
	followOffHub bool
	header       http.Header
	// timeout bounds the request until its body is closed (0: none).
	timeout time.Duration
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// send performs the request once, following redirects itself so that the Authorization header is
// only sent to Hub origins. Non-2xx/3xx statuses become *HTTPError; the caller closes the body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	if c.cfg.offline {
		return nil, fmt.Errorf("hub: %s: %w: offline mode is on (HF_HUB_OFFLINE)", r.what, ErrNotCached)
	}
	parent := ctx
	cancel := context.CancelFunc(func() {})
	if r.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	resp, err := c.sendHops(parent, ctx, r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// sendHops follows the redirects; parent is the caller's context (its cancellation is not a
// network failure), ctx may add a deadline.
func (c *Client) sendHops(parent, ctx context.Context, r request) (*http.Response, error) {
	target := r.url
	for hops := 0; ; hops++ {
		if hops > 10 {
			return nil, fmt.Errorf("hub: %s: %w: more than 10 redirects from %s", r.what, ErrProtocol, r.url)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, target, nil)
		if err != nil {
			return nil, fmt.Errorf("hub: %s: building request for %s: %w", r.what, target, err)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", c.cfg.userAgent)
		// Identity encoding: sizes and checksums refer to the stored bytes, not a compressed stream.
		req.Header.Set("Accept-Encoding", "identity")
		if c.cfg.token != "" && c.isHubOrigin(target) {
			req.Header.Set("Authorization", "Bearer "+c.cfg.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if parent.Err() != nil {
				return nil, fmt.Errorf("hub: %s: %w", r.what, parent.Err())
			}
			return nil, &netError{method: r.method, url: target, err: err}
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			next, err := url.Parse(target)
			if err == nil {
				var l *url.URL
				if l, err = url.Parse(loc); err == nil {
					next = next.ResolveReference(l)
				}
			}
			if err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("hub: %s: %w: bad redirect location %q", r.what, ErrProtocol, loc)
			}
			if !r.followOffHub && !c.isHubOrigin(next.String()) {
				return resp, nil
			}
			drain(resp)
			target = next.String()
			continue
		}
		if resp.StatusCode >= 400 {
			defer drain(resp)
			return nil, c.httpError(r, target, resp)
		}
		return resp, nil
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func (c *Client) httpError(r request, target string, resp *http.Response) *HTTPError {
	e := &HTTPError{Method: r.method, URL: target, StatusCode: resp.StatusCode,
		Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message"), What: r.what}
	if e.Message == "" && r.method != http.MethodHead {
		var body struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
		if json.Unmarshal(b, &body) == nil && body.Error != "" {
			e.Message = body.Error
		}
	}
	e.kind = classify(resp.StatusCode, e.Code, r.resolve)
	return e
}

// sendRetry is send with the bounded retry policy for transient failures (429, 5xx, connection).
func (c *Client) sendRetry(ctx context.Context, r request) (*http.Response, error) {
	delay := c.cfg.retryDelay
	var err error
	for attempt := 1; ; attempt++ {
		var resp *http.Response
		resp, err = c.send(ctx, r)
		if err == nil {
			return resp, nil
		}
		if !isTransient(err) || attempt >= c.cfg.attempts {
			break
		}
		if werr := sleepCtx(ctx, delay); werr != nil {
			return nil, fmt.Errorf("hub: %s: %w", r.what, werr)
		}
		delay *= 2
	}
	if c.cfg.attempts > 1 && isTransient(err) {
		return nil, fmt.Errorf("%w (after %d attempts)", err, c.cfg.attempts)
	}
	return nil, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// resolveURL is {endpoint}/{datasets/}{id}/resolve/{rev}/{path}, with the revision escaped as one
// segment ("refs/pr/1" -> "refs%2Fpr%2F1") and each path segment escaped, like hf_hub_url.
func (c *Client) resolveURL(t RepoType, repoID, rev, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.cfg.endpoint + "/" + t.urlPrefix() + repoID + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(segs, "/")
}

// netErr tells whether err is a connection-level failure.
func netErr(err error) bool {
	var ne *netError
	return errors.As(err, &ne)
}
