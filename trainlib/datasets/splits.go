package datasets

// Split-file selection, as Hugging Face datasets (4.x) resolves the data files of a folder or a Hub
// repository (data_files.py, load.py):
//
//  1. The README.md YAML header may declare `configs:`, each with a config_name, data_files (a
//     pattern, a list of patterns — split "train" — or a list of {split, path}) and/or data_dir.
//     The config asked for, else the one named "default" or marked `default: true`, else the only
//     one, is used.
//  2. Without data_files, default patterns apply (under data_dir): first the sharded layout
//     data/{split}-NNNNN-of-NNNNN*.*, then split names in folder names (train/, dev/, test/...),
//     then in file names (train.csv, my-test-01.jsonl...), else every file is "train". The keywords
//     are train|training, validation|valid|dev|val, test|testing|eval|evaluation, delimited by
//     "-._ 0-9" or "/".
//  3. Hidden files and folders (".x") and "__x" folders are skipped unless the pattern names them;
//     README.md, config.json, dataset_info.json, dataset_infos.json, dataset_dict.json and
//     dummy_data.zip too; files without a known extension are dropped.
//  4. The format is that of the most common extension (ties: parquet, jsonl, json, csv, then
//     alphabetical), the same for all splits; files of other formats are dropped.

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

var splitKeywords = []struct {
	split    string
	keywords []string
}{
	{"train", []string{"train", "training"}},
	{"validation", []string{"validation", "valid", "dev", "val"}},
	{"test", []string{"test", "testing", "eval", "evaluation"}},
}

const nonWordChars = "-._ 0-9"

const splitPatternSharded = "data/{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*"

var shardedRe = regexp.MustCompile(`^(.*)-[0-9]{5}-of-[0-9]{5}.*\..*$`)

var splitNameRe = regexp.MustCompile(`^\w+(\.\w+)*$`)

// extensionFormat maps the extensions Hugging Face datasets knows to the format that reads them;
// "" marks formats this package does not read.
var extensionFormat = map[string]string{
	".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
	".parquet": "parquet", ".geoparquet": "parquet", ".gpq": "parquet", ".txt": "text",
	".arrow": "", ".tar": "", ".xml": "", ".zip": "",
}

// formatExtensions are the extensions kept once the format is chosen (datasets'
// _MODULE_TO_EXTENSIONS; .zip archives are not read here).
var formatExtensions = map[string][]string{
	"csv":     {".csv", ".tsv"},
	"json":    {".json", ".jsonl", ".ndjson"},
	"parquet": {".parquet", ".geoparquet", ".gpq"},
	"text":    {".txt"},
}

var filesToIgnore = map[string]bool{"README.md": true, "config.json": true, "dataset_info.json": true,
	"dataset_infos.json": true, "dummy_data.zip": true, "dataset_dict.json": true}

// mediaExtensions are image/audio/video/pdf extensions, which select folder-based loaders in
// datasets; named in errors.
var mediaExtensions = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true,
	".bmp": true, ".tif": true, ".tiff": true, ".wav": true, ".mp3": true, ".flac": true, ".ogg": true,
	".mp4": true, ".avi": true, ".mkv": true, ".mov": true, ".pdf": true}

// dataFiles is the outcome of split-file selection.
type dataFiles struct {
	config string
	// configs lists every config of the README (empty without one).
	configs []string
	splits  []string // in order
	files   map[string][]string
	format  string // parquet, json, csv, text
}

// splitPattern is a split with its patterns.
type splitPattern struct {
	split    string
	patterns []string
}

// readmeConfig is one entry of the README `configs:` list.
type readmeConfig struct {
	name      string
	dataFiles []splitPattern // nil: default patterns
	dataDir   string
	isDefault bool
}

// parseReadmeConfigs extracts `configs:` from the YAML header of a README.md.
func parseReadmeConfigs(readme []byte) ([]readmeConfig, error) {
	text := strings.ReplaceAll(string(readme), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	if !strings.HasPrefix(text, "---\n") {
		return nil, nil
	}
	end := strings.Index(text[4:], "\n---")
	if end < 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text[4:4+end]), &doc); err != nil {
		return nil, fmt.Errorf("README.md: invalid YAML header: %w", err)
	}
	var raw any
	if len(doc.Content) > 0 {
		meta, ok := yamlValue(doc.Content[0]).(yamlMap)
		if !ok {
			return nil, nil
		}
		if raw, ok = meta.get("configs"); !ok {
			return nil, nil
		}
	} else {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("README.md: `configs` must be a list, got %T", raw)
	}
	var out []readmeConfig
	for i, item := range list {
		m, ok := item.(yamlMap)
		if !ok {
			return nil, fmt.Errorf("README.md: configs[%d] must be a mapping", i)
		}
		cn, _ := m.get("config_name")
		name, ok := cn.(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("README.md: configs[%d] needs a `config_name` string", i)
		}
		c := readmeConfig{name: name}
		if d, ok := m.get("default"); ok {
			c.isDefault, _ = d.(bool)
		}
		if dd, ok := m.get("data_dir"); ok {
			s, ok := dd.(string)
			if !ok {
				return nil, fmt.Errorf("README.md: config %q: data_dir must be a string", name)
			}
			c.dataDir = strings.Trim(s, "/")
		}
		if df, ok := m.get("data_files"); ok {
			sp, err := sanitizePatterns(df)
			if err != nil {
				return nil, fmt.Errorf("README.md: config %q: %w", name, err)
			}
			c.dataFiles = sp
		}
		out = append(out, c)
	}
	return out, nil
}

// yamlMap is a YAML mapping with its key order.
type yamlMap struct {
	keys []string
	m    map[string]any
}

func (y yamlMap) get(k string) (any, bool) {
	v, ok := y.m[k]
	return v, ok
}

// yamlValue converts a YAML node: mappings to yamlMap, sequences to []any, scalars to string,
// bool, int, float or nil (the types PyYAML's safe_load gives).
func yamlValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return yamlValue(n.Content[0])
		}
		return nil
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	case yaml.MappingNode:
		y := yamlMap{m: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := y.m[k]; !dup {
				y.keys = append(y.keys, k)
			}
			y.m[k] = yamlValue(n.Content[i+1])
		}
		return y
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = yamlValue(c)
		}
		return out
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return v
}

// sanitizePatterns normalizes a data_files value (datasets' sanitize_patterns).
func sanitizePatterns(v any) ([]splitPattern, error) {
	strs := func(x any) ([]string, bool) {
		switch y := x.(type) {
		case string:
			return []string{y}, true
		case []any:
			out := make([]string, len(y))
			for i, e := range y {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				out[i] = s
			}
			return out, true
		}
		return nil, false
	}
	switch x := v.(type) {
	case string:
		return []splitPattern{{"train", []string{x}}}, nil
	case yamlMap:
		return nil, fmt.Errorf("data_files must be a path, a list of paths or a list of {split, path}, not a mapping")
	case []any:
		hasDict := false
		for _, e := range x {
			if _, ok := e.(yamlMap); ok {
				hasDict = true
			}
		}
		if !hasDict {
			p, ok := strs(x)
			if !ok {
				return nil, fmt.Errorf("data_files must be a path, a list of paths or a list of {split, path}")
			}
			return []splitPattern{{"train", p}}, nil
		}
		var out []splitPattern
		seen := map[string]bool{}
		for _, e := range x {
			m, ok := e.(yamlMap)
			sv, _ := m.get("split")
			pv, _ := m.get("path")
			split, sok := sv.(string)
			p, pok := strs(pv)
			if !ok || len(m.keys) != 2 || !sok || !pok {
				return nil, fmt.Errorf("invalid data_files entry %v: each item must be {split: <name>, path: <path or list of paths>}", e)
			}
			if seen[split] {
				return nil, fmt.Errorf("split %q is listed twice in data_files", split)
			}
			seen[split] = true
			out = append(out, splitPattern{split, p})
		}
		return out, nil
	}
	return nil, fmt.Errorf("data_files must be a path, a list of paths or a list of {split, path}, got %T", v)
}

// resolvePattern lists the files (relative to the repository root) matching pattern under base,
// with datasets' exclusions (hidden, "__" folders, ignored names) and, when allowed is set, only
// files with a known extension.
func resolvePattern(files []string, base, pattern string, allowed bool) []string {
	full := pattern
	if base != "" {
		full = base + "/" + pattern
	}
	full = cleanPattern(full)
	patBase := path.Base(full)
	var out []string
	for _, f := range files {
		if !globMatch(full, f) {
			continue
		}
		if b := path.Base(f); filesToIgnore[b] && b != patBase {
			continue
		}
		if countParts(path.Dir(f), "__") != countParts(path.Dir(full), "__") {
			continue
		}
		if countHidden(f) != countHidden(full) {
			continue
		}
		if allowed && !hasKnownExtension(f) {
			continue
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// cleanPattern removes "./" segments and duplicate slashes so patterns compare with listed paths.
func cleanPattern(p string) string {
	segs := strings.Split(p, "/")
	out := segs[:0]
	for _, s := range segs {
		if s == "" || s == "." {
			continue
		}
		out = append(out, s)
	}
	return strings.Join(out, "/")
}

func countParts(p, prefix string) int {
	if p == "." || p == "" {
		return 0
	}
	n := 0
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// countHidden counts path parts starting with "." that are not all dots.
func countHidden(p string) int {
	n := 0
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, ".") && strings.Trim(s, ".") != "" {
			n++
		}
	}
	return n
}

func suffixes(name string) []string {
	parts := strings.Split(path.Base(name), ".")
	out := make([]string, 0, len(parts)-1)
	for _, p := range parts[1:] {
		out = append(out, "."+p)
	}
	return out
}

func hasKnownExtension(f string) bool {
	for _, s := range suffixes(f) {
		if _, ok := extensionFormat[s]; ok || mediaExtensions[strings.ToLower(s)] {
			return true
		}
	}
	return false
}

// defaultPatterns finds which default layout the files follow (datasets' get_data_patterns).
func defaultPatterns(files []string, base string) ([]splitPattern, error) {
	sharded := strings.Replace(splitPatternSharded, "{split}", "*", 1)
	if m := resolvePattern(files, base, sharded, false); len(m) > 0 {
		found := map[string]bool{}
		for _, f := range m {
			sm := shardedRe.FindStringSubmatch(path.Base(f))
			if sm == nil {
				continue
			}
			if !splitNameRe.MatchString(sm[1]) {
				return nil, fmt.Errorf("split name %q (from %s) is not a valid split name (letters, digits, _ and .)", sm[1], f)
			}
			found[sm[1]] = true
		}
		var splits []string
		for _, k := range splitKeywords {
			if found[k.split] {
				splits = append(splits, k.split)
				delete(found, k.split)
			}
		}
		rest := slices.Sorted(maps.Keys(found))
		var out []splitPattern
		for _, s := range append(splits, rest...) {
			out = append(out, splitPattern{s, []string{strings.Replace(splitPatternSharded, "{split}", s, 1)}})
		}
		return out, nil
	}
	dirBases := []string{"**/{keyword}/**", "**/{keyword}[{sep}]*/**", "**/*[{sep}]{keyword}/**", "**/*[{sep}]{keyword}[{sep}]*/**"}
	fileBases := []string{"**/{keyword}[{sep}]*", "**/*[{sep}]{keyword}[{sep}]*"}
	for _, bases := range [][]string{dirBases, fileBases} {
		var out []splitPattern
		for _, sk := range splitKeywords {
			var pats []string
			for _, kw := range sk.keywords {
				for _, b := range bases {
					pats = append(pats, strings.NewReplacer("{keyword}", kw, "{sep}", nonWordChars).Replace(b))
				}
			}
			for _, p := range pats {
				if len(resolvePattern(files, base, p, false)) > 0 {
					out = append(out, splitPattern{sk.split, pats})
					break
				}
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if len(resolvePattern(files, base, "**", false)) > 0 {
		return []splitPattern{{"train", []string{"**"}}}, nil
	}
	return nil, fmt.Errorf("no data files")
}

// selectDataFiles picks the config and resolves its split files from the repository's file list
// (relative "/"-separated paths) and README.md content (nil when absent). where names the source
// for error messages.
func selectDataFiles(files []string, readme []byte, configName, where string) (*dataFiles, error) {
	configs, err := parseReadmeConfigs(readme)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	res := &dataFiles{config: "default", files: map[string][]string{}}
	var cfg *readmeConfig
	for i := range configs {
		res.configs = append(res.configs, configs[i].name)
	}
	switch {
	case configName != "":
		for i := range configs {
			if configs[i].name == configName {
				cfg = &configs[i]
			}
		}
		if cfg == nil && !(configName == "default" && len(configs) == 0) {
			avail := res.configs
			if len(avail) == 0 {
				avail = []string{"default"}
			}
			return nil, fmt.Errorf("%s: unknown config %q; the configs are %s", where, configName, quoteList(avail))
		}
	case len(configs) > 0:
		for i := range configs {
			if configs[i].name == "default" || configs[i].isDefault {
				if cfg != nil {
					return nil, fmt.Errorf("%s: README.md declares several default configs: %q and %q", where, cfg.name, configs[i].name)
				}
				cfg = &configs[i]
			}
		}
		if cfg == nil && len(configs) == 1 {
			cfg = &configs[0]
		}
		if cfg == nil {
			return nil, fmt.Errorf("%s: config name is missing: pick one of %s with WithConfig (--config)", where, quoteList(res.configs))
		}
	}
	var patterns []splitPattern
	base := ""
	if cfg != nil {
		res.config = cfg.name
		base = cfg.dataDir
		patterns = cfg.dataFiles
	}
	if patterns == nil {
		if patterns, err = defaultPatterns(files, base); err != nil {
			return nil, fmt.Errorf("%s: no data files found (supported: .parquet, .jsonl, .json, .csv, .tsv, .txt)", where)
		}
	}
	for _, sp := range patterns {
		var list []string
		for _, p := range sp.patterns {
			if err := validatePattern(p); err != nil {
				return nil, fmt.Errorf("%s: config %q, split %q: %w", where, res.config, sp.split, err)
			}
			m := resolvePattern(files, base, p, true)
			if len(m) == 0 && !hasMagic(p) {
				return nil, fmt.Errorf("%s: config %q, split %q: data file %q not found", where, res.config, sp.split, p)
			}
			list = append(list, m...)
		}
		res.splits = append(res.splits, sp.split)
		res.files[sp.split] = list
	}
	if err := res.inferFormat(where); err != nil {
		return nil, err
	}
	return res, nil
}

// inferFormat chooses the format from the most common extension (datasets'
// infer_module_for_data_files_list; at most 200 files per split are counted) and drops the files
// of other formats.
func (r *dataFiles) inferFormat(where string) error {
	chosen := ""
	for _, split := range r.splits {
		counts := map[string]int{}
		for i, f := range r.files[split] {
			if i >= 200 {
				break
			}
			for _, s := range suffixes(f) {
				counts[strings.ToLower(s)]++
			}
		}
		exts := make([]string, 0, len(counts))
		for e := range counts {
			exts = append(exts, e)
		}
		rank := func(e string) []int {
			b := func(x bool) int {
				if x {
					return 1
				}
				return 0
			}
			return []int{counts[e], b(e == ".parquet"), b(e == ".jsonl"), b(e == ".json"), b(e == ".csv")}
		}
		sort.Slice(exts, func(i, j int) bool {
			ri, rj := rank(exts[i]), rank(exts[j])
			for k := range ri {
				if ri[k] != rj[k] {
					return ri[k] > rj[k]
				}
			}
			return exts[i] > exts[j]
		})
		format, known := "", false
		for _, e := range exts {
			if f, ok := extensionFormat[e]; ok {
				format, known = f, true
				if f == "" {
					return fmt.Errorf("%s: split %q: %s files are not supported (supported: .parquet, .jsonl, .json, .csv, .tsv, .txt)", where, split, e)
				}
				break
			}
			if mediaExtensions[e] {
				return fmt.Errorf("%s: split %q: %s files are media (image/audio/video/pdf) datasets, which are not supported", where, split, e)
			}
		}
		if !known {
			return fmt.Errorf("%s: split %q: no supported data files (.parquet, .jsonl, .json, .csv, .tsv, .txt)", where, split)
		}
		if chosen != "" && chosen != format {
			return fmt.Errorf("%s: the splits have different formats (%s and %s); datasets requires one format", where, chosen, format)
		}
		chosen = format
	}
	if chosen == "" {
		return fmt.Errorf("%s: no data files found", where)
	}
	r.format = chosen
	for _, split := range r.splits {
		var kept []string
		for _, f := range r.files[split] {
			if hasFormatExtension(f, chosen) {
				kept = append(kept, f)
			}
		}
		r.files[split] = kept
	}
	return nil
}

// hasFormatExtension mirrors datasets' DataFilesList.filter: the name contains one of the format's
// extensions, possibly followed by one more suffix (a compression such as .gz).
func hasFormatExtension(f, format string) bool {
	base := path.Base(f)
	for _, e := range formatExtensions[format] {
		if i := strings.LastIndex(base, e); i >= 0 {
			rest := base[i+len(e):]
			if rest == "" || (strings.HasPrefix(rest, ".") && len(rest) > 1) {
				return true
			}
		}
	}
	return false
}
