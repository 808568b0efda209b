package trainlib

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/internal/lockfile"
)

// checksumFile lists the SHA-256 of every other file of a checkpoint, in the format of sha256sum
// ("<hex>  <path>" per line, paths relative to the checkpoint, sorted), so a checkpoint can be
// verified before it is resumed (and by hand: cd checkpoint-N && sha256sum -c SHA256SUMS). It is the
// last file written into the checkpoint's temporary folder; Hugging Face's files are unchanged.
const checksumFile = "SHA256SUMS"

// ResumeLatestValid is the ResumeFrom argument (CLI: --resume latest-valid) that continues from the
// newest checkpoint of output_dir that verifies, skipping (and naming) damaged ones.
const ResumeLatestValid = "latest-valid"

// writeChecksums writes dir/SHA256SUMS for the files under dir.
func writeChecksums(dir string) error {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == checksumFile {
			return nil
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("checksums of %s: %w", dir, err)
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	return os.WriteFile(filepath.Join(dir, checksumFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkpointFiles must be in every checkpoint (besides the model weights).
var checkpointFiles = []string{resumeStateFile, trainerStateFile, optimizerFile, rngFile, schedulerFile}

// verifyCheckpoint checks that dir is a complete embedtune checkpoint whose files are those listed
// in its SHA256SUMS; the error names the first file that is missing, truncated or changed. A
// checkpoint written before SHA256SUMS existed is only checked for its files.
func verifyCheckpoint(dir string) error {
	for _, f := range checkpointFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%s: %w (not a complete embedtune checkpoint)", filepath.Join(dir, f), errors.Unwrap(err))
		}
	}
	if !fileExists(filepath.Join(dir, "model.safetensors")) && !fileExists(filepath.Join(dir, "adapter_model.safetensors")) {
		return fmt.Errorf("%s: neither model.safetensors nor adapter_model.safetensors (not a complete checkpoint)", dir)
	}
	sums := filepath.Join(dir, checksumFile)
	data, err := os.ReadFile(sums)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	listed := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		want, rel, ok := strings.Cut(line, "  ")
		if !ok || len(want) != 64 || rel == "" || !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%s: line %d is not \"<sha256>  <file>\" (a damaged checkpoint)", sums, n)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		got, err := fileSHA256(p)
		if err != nil {
			return fmt.Errorf("%s: listed in %s but unreadable: %w", p, checksumFile, err)
		}
		if got != want {
			return fmt.Errorf("%s: SHA-256 %s differs from the %s recorded in %s when the checkpoint was written (the file is damaged or was changed)", p, got[:12]+"…", want[:12]+"…", checksumFile)
		}
		listed++
	}
	if listed == 0 {
		return fmt.Errorf("%s is empty (a damaged checkpoint)", sums)
	}
	return nil
}

// fileExists reports whether p exists.
func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// resumeCheckpoint resolves ResumeFrom's argument: a folder, "latest" (the newest checkpoint,
// which must verify) or "latest-valid" (the newest one that verifies).
func resumeCheckpoint(arg, outputDir string, existing []string, logf func(string, ...any)) (string, error) {
	switch arg {
	case "latest", ResumeLatestValid:
		if len(existing) == 0 {
			return "", fmt.Errorf("resume from %s: no %s* folder in %s", arg, checkpointPrefix, outputDir)
		}
		var skipped []string
		for i := len(existing) - 1; i >= 0; i-- {
			err := verifyCheckpoint(existing[i])
			if err == nil {
				if len(skipped) > 0 {
					logf("resume from %s: skipped damaged checkpoints: %s", arg, strings.Join(skipped, "; "))
				}
				return existing[i], nil
			}
			if arg == "latest" {
				return "", fmt.Errorf("resume from latest: %s does not verify: %w; resume from the newest intact checkpoint with ResumeFrom(%q) (CLI: --resume %s)",
					filepath.Base(existing[i]), err, ResumeLatestValid, ResumeLatestValid)
			}
			skipped = append(skipped, fmt.Sprintf("%s (%v)", filepath.Base(existing[i]), err))
		}
		return "", fmt.Errorf("resume from %s: none of the %d checkpoints in %s verifies: %s", arg, len(existing), outputDir, strings.Join(skipped, "; "))
	}
	if err := verifyCheckpoint(arg); err != nil {
		return "", fmt.Errorf("resume from %s: %w", arg, err)
	}
	return arg, nil
}

// lockFile is the lock a training run holds on its output_dir (see lockOutputDir).
const lockFile = ".embedtune.lock"

// lockOutputDir creates outputDir and takes its lock, so that a second run into the same folder (in
// another process, or another Train call of this one) is refused instead of mixing checkpoints.
func lockOutputDir(outputDir string) (unlock func(), err error) {
	if err := os.MkdirAll(outputDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err = lockfile.TryLock(filepath.Join(outputDir, lockFile))
	if held, ok := errors.AsType[*lockfile.HeldError](err); ok {
		who := "another process"
		if held.PID == os.Getpid() {
			who = "this process (another Train call that has not returned)"
		} else if held.PID > 0 {
			who = fmt.Sprintf("process %d", held.PID)
		}
		return nil, fmt.Errorf("output_dir %s is in use by %s, which is training into it (lock %s): wait for it to finish, stop it, or choose another output_dir", outputDir, who, held.Path)
	}
	return unlock, err
}
