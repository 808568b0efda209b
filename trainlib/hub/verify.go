package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"
)

var (
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sha1Re   = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// verifyBlob checks a downloaded file against what the Hub announced:
//
//   - its size equals the announced size (X-Linked-Size or Content-Length), when there is one;
//   - an ETag of 64 hex digits is the SHA-256 of the content (Git LFS object id);
//   - an ETag of 40 hex digits is the git blob id: SHA-1("blob " + decimal size + "\x00" + content).
//
// Other ETags (served by some mirrors) are not content hashes: only the size is checked.
func verifyBlob(path, etag string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if size >= 0 && st.Size() != size {
		return fmt.Errorf("%w: received %d bytes, the Hub announced %d", ErrIntegrity, st.Size(), size)
	}
	var h hash.Hash
	kind := ""
	switch {
	case sha256Re.MatchString(etag):
		h, kind = sha256.New(), "sha256"
	case sha1Re.MatchString(etag):
		h, kind = sha1.New(), "git blob sha1"
		fmt.Fprintf(h, "blob %d\x00", st.Size())
	default:
		return nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != etag {
		return fmt.Errorf("%w: %s of the received bytes is %s, the Hub announced %s", ErrIntegrity, kind, got, etag)
	}
	return nil
}
