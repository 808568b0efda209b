package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// spec is a fully resolved WordPiece tokenizer: exactly what the backends run, independent of the files
// it came from.
type spec struct {
	source         string
	class          string
	vocab          map[string]int // model vocabulary
	unkToken       string
	prefix         string // continuing-subword prefix
	maxChars       int    // max_input_chars_per_word
	baseNorm       []normalizerSpec
	lowerAdded     bool // a Lowercase normalizer runs before baseNorm (sentence-transformers do_lower_case)
	bertPre        bool
	added          []addedToken
	prefixTokens   []string // post-processor tokens before / after the sequence
	suffixTokens   []string
	special        SpecialTokens
	truncSide      Side
	padSide        Side
	modelMaxLength int
	ignoredTrunc   bool
	ignoredPad     bool
}

// normalizers is the pipeline the text goes through, the sentence-transformers Lowercase included.
func (s *spec) normalizers() []normalizerSpec {
	if !s.lowerAdded {
		return s.baseNorm
	}
	return append([]normalizerSpec{{Kind: "Lowercase"}}, s.baseNorm...)
}

// tokenID looks a token up among the added tokens, then in the model vocabulary.
func (s *spec) tokenID(tok string) (int, bool) {
	for _, a := range s.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := s.vocab[tok]
	return id, ok
}

// info describes the spec.
func (s *spec) info(impl string) Info {
	in := Info{Implementation: impl, Source: s.source, TokenizerClass: s.class, LowerCaseAdded: s.lowerAdded,
		TruncationSide: s.truncSide, PaddingSide: s.padSide, ModelMaxLength: s.modelMaxLength,
		IgnoredTruncation: s.ignoredTrunc, IgnoredPadding: s.ignoredPad}
	for _, n := range s.normalizers() {
		in.Normalizers = append(in.Normalizers, n.String())
	}
	return in
}

// vocabSize is one more than the largest id.
func (s *spec) vocabSize() int {
	n := 0
	for _, id := range s.vocab {
		n = max(n, id+1)
	}
	for _, a := range s.added {
		n = max(n, a.ID+1)
	}
	return n
}

// Options adjusts loading.
type Options struct {
	// LowerCase puts a Lowercase normalizer in front of the tokenizer's own normalization, as
	// sentence-transformers does when sentence_bert_config.json has "do_lower_case": true (unless the
	// normalizer already is, or contains, a Lowercase step).
	LowerCase bool
}

// bertModelTypes are the config.json model types transformers v5 maps to BertTokenizer when
// tokenizer_config.json names no tokenizer_class (transformers/models/auto/tokenization_auto.py).
var bertModelTypes = map[string]bool{
	"align": true, "bark": true, "bert": true, "blip": true, "bros": true, "chinese_clip": true, "convbert": true,
	"distilbert": true, "electra": true, "ernie": true, "flava": true, "git": true, "grounding-dino": true,
	"layoutlm": true, "megatron-bert": true, "mm-grounding-dino": true, "nezha": true, "nomic_bert": true,
	"qdqbert": true, "realm": true, "retribert": true, "squeezebert": true, "tvp": true, "vilt": true,
	"visual_bert": true,
}

// resolveDir builds the spec of a model folder the way transformers v5's AutoTokenizer.from_pretrained
// (which sentence-transformers calls) does for BERT tokenizers:
//
//   - tokenizer_class BertTokenizer (or none, with a BERT model_type in config.json): the vocabulary comes
//     from tokenizer.json (or vocab.txt) but the normalizer, pre-tokenizer, WordPiece options and
//     post-processor are rebuilt from tokenizer_config.json (do_lower_case, tokenize_chinese_chars,
//     strip_accents, the special tokens), ignoring what tokenizer.json says about them;
//   - tokenizer_class PreTrainedTokenizerFast / TokenizersBackend: tokenizer.json is used as is.
//
// In both cases tokenizer.json's "truncation" and "padding" blocks are not applied: sentence-transformers
// passes truncation and padding on every call (only their direction serves as default side).
func resolveDir(dir string, opts Options) (*spec, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is not a directory", dir)
	}
	var cfg tokenizerConfig
	if _, err := readOptionalJSON(dir, TokenizerConfigFile, &cfg); err != nil {
		return nil, err
	}
	var stm tokenizerConfig
	stmFound, err := readOptionalJSON(dir, SpecialTokensMapFile, &stm)
	if err != nil {
		return nil, err
	}
	var mc modelConfig
	if _, err := readOptionalJSON(dir, modelConfigFile, &mc); err != nil {
		return nil, err
	}

	tjPath := filepath.Join(dir, TokenizerJSONFile)
	var tj *tokenizerJSON
	data, err := readFileLimited(tjPath)
	switch {
	case err == nil:
		if tj, err = parseTokenizerJSON(tjPath, data); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("reading %s: %w", tjPath, err)
	}

	class := cfg.TokenizerClass
	switch class {
	case "BertTokenizerFast":
		class = "BertTokenizer"
	case "":
		if bertModelTypes[mc.ModelType] {
			class = "BertTokenizer"
		} else if tj != nil {
			class = "TokenizersBackend"
		}
	case "PreTrainedTokenizerFast":
		class = "TokenizersBackend"
	}

	// Special tokens: tokenizer_config.json, overridden by special_tokens_map.json when the config has no
	// added_tokens_decoder (transformers' legacy path).
	pick := func(c, m tokenField) tokenField {
		if cfg.AddedTokensDecoder == nil && stmFound && m.set {
			return m
		}
		return c
	}
	named := map[string]tokenField{
		"unk": pick(cfg.UnkToken, stm.UnkToken), "sep": pick(cfg.SepToken, stm.SepToken),
		"pad": pick(cfg.PadToken, stm.PadToken), "cls": pick(cfg.ClsToken, stm.ClsToken),
		"mask": pick(cfg.MaskToken, stm.MaskToken),
	}

	s := &spec{source: dir, prefix: "##", maxChars: 100, modelMaxLength: modelMaxLength(cfg.ModelMaxLength)}
	switch class {
	case "BertTokenizer":
		s.class = class
		if err := s.rebuildBert(dir, tj, &cfg, named); err != nil {
			return nil, err
		}
	case "TokenizersBackend":
		if tj == nil {
			return nil, fmt.Errorf("%s: %s not found (tokenizer_class %q needs it)", dir, TokenizerJSONFile, cfg.TokenizerClass)
		}
		if err := s.fromTokenizerJSON(tjPath, tj, &cfg, named); err != nil {
			return nil, err
		}
	case "":
		return nil, fmt.Errorf("%s: no %s, and no BERT tokenizer described by %s/%s", dir, TokenizerJSONFile, TokenizerConfigFile, VocabFile)
	default:
		return nil, fmt.Errorf("%s: field \"tokenizer_class\" is %q; supported: BertTokenizer, BertTokenizerFast, PreTrainedTokenizerFast",
			filepath.Join(dir, TokenizerConfigFile), cfg.TokenizerClass)
	}

	s.truncSide, s.padSide = Right, Right
	if tj != nil && tj.Truncation != nil {
		s.ignoredTrunc = true
		if side, ok := parseSide(tj.Truncation.Direction); ok {
			s.truncSide = side
		}
	}
	if tj != nil && tj.Padding != nil {
		s.ignoredPad = true
		if side, ok := parseSide(tj.Padding.Direction); ok {
			s.padSide = side
		}
	}
	if cfg.TruncationSide != "" {
		side, ok := parseSide(cfg.TruncationSide)
		if !ok {
			return nil, fmt.Errorf("%s: field \"truncation_side\" is %q, expected \"right\" or \"left\"", filepath.Join(dir, TokenizerConfigFile), cfg.TruncationSide)
		}
		s.truncSide = side
	}
	if cfg.PaddingSide != "" {
		side, ok := parseSide(cfg.PaddingSide)
		if !ok {
			return nil, fmt.Errorf("%s: field \"padding_side\" is %q, expected \"right\" or \"left\"", filepath.Join(dir, TokenizerConfigFile), cfg.PaddingSide)
		}
		s.padSide = side
	}
	if named["pad"].set {
		s.special.PADToken = named["pad"].def.Content
	} else if tj != nil && tj.Padding != nil && tj.Padding.PadToken != "" {
		s.special.PADToken = tj.Padding.PadToken
	}
	if opts.LowerCase && !hasLowercase(s.baseNorm) {
		s.lowerAdded = true
	}
	if err := s.finish(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}

// parseSide accepts "right"/"left" in any case (tokenizer.json writes "Right").
func parseSide(v string) (Side, bool) {
	switch v {
	case "right", "Right":
		return Right, true
	case "left", "Left":
		return Left, true
	}
	return "", false
}

// rebuildBert follows transformers v5 BertTokenizer.__init__.
func (s *spec) rebuildBert(dir string, tj *tokenizerJSON, cfg *tokenizerConfig, named map[string]tokenField) error {
	if tj != nil {
		name := filepath.Join(dir, TokenizerJSONFile)
		var m struct {
			Vocab json.RawMessage `json:"vocab"`
		}
		if err := json.Unmarshal(tj.Model, &m); err != nil {
			return fmt.Errorf("%s: field \"model\": %w", name, err)
		}
		if err := json.Unmarshal(m.Vocab, &s.vocab); err != nil || s.vocab == nil {
			if err == nil {
				err = errors.New("missing or null")
			}
			return fmt.Errorf("%s: field \"model.vocab\" must be an object {token: id}: %w", name, err)
		}
		if err := validateVocab(s.vocab); err != nil {
			return fmt.Errorf("%s: field \"model.vocab\": %w", name, err)
		}
		s.source = name
	} else {
		path := filepath.Join(dir, VocabFile)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: neither %s nor %s found: %w", dir, TokenizerJSONFile, VocabFile, err)
		}
		v, err := readVocabTxt(path)
		if err != nil {
			return err
		}
		s.vocab = v
		s.source = path
	}
	boolOr := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	s.baseNorm = []normalizerSpec{{Kind: "BertNormalizer", CleanText: true, Chinese: boolOr(cfg.TokenizeChineseChars, true),
		StripAccents: cfg.StripAccents, Lowercase: boolOr(cfg.DoLowerCase, true)}}
	s.bertPre = true
	defaults := map[string]string{"unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]", "mask": "[MASK]"}
	for k, d := range defaults {
		if !named[k].set {
			named[k] = tokenField{set: true, def: addedTokenDef{Content: d, Special: true}}
		}
	}
	s.unkToken = named["unk"].def.Content
	s.prefixTokens = []string{named["cls"].def.Content}
	s.suffixTokens = []string{named["sep"].def.Content}
	var initial []addedTokenDef
	if cfg.AddedTokensDecoder != nil {
		defs, err := sortedDecoder(filepath.Join(dir, TokenizerConfigFile), cfg.AddedTokensDecoder)
		if err != nil {
			return err
		}
		initial = defs
	} else if tj != nil {
		initial = tj.AddedTokens
	}
	s.addTokens(initial, false)
	s.addNamed(named)
	return nil
}

// fromTokenizerJSON uses tokenizer.json as is (transformers' TokenizersBackend).
func (s *spec) fromTokenizerJSON(name string, tj *tokenizerJSON, cfg *tokenizerConfig, named map[string]tokenField) error {
	s.class = ""
	m, vocab, err := parseWordPieceModel(name, tj.Model)
	if err != nil {
		return err
	}
	s.vocab = vocab
	s.source = name
	s.unkToken = m.UnkToken
	if s.unkToken == "" {
		s.unkToken = "[UNK]"
	}
	if m.ContinuingSubwordPrefix != nil {
		s.prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		if *m.MaxInputCharsPerWord < 1 {
			return fmt.Errorf("%s: field \"model.max_input_chars_per_word\" is %d, expected >= 1", name, *m.MaxInputCharsPerWord)
		}
		s.maxChars = *m.MaxInputCharsPerWord
	}
	if s.baseNorm, err = parseNormalizers(name, tj.Normalizer); err != nil {
		return err
	}
	if s.bertPre, err = parsePreTokenizer(name, tj.PreTokenizer); err != nil {
		return err
	}
	if s.prefixTokens, s.suffixTokens, err = parsePostProcessor(name, tj.PostProcessor); err != nil {
		return err
	}
	s.addTokens(tj.AddedTokens, true)
	if cfg.AddedTokensDecoder != nil {
		defs, err := sortedDecoder(name, cfg.AddedTokensDecoder)
		if err != nil {
			return err
		}
		s.addTokens(defs, false)
	}
	s.addNamed(named)
	if s.special.UNKToken == "" {
		// The model's unknown token (not added to the vocabulary: transformers only adds named tokens).
		s.special.UNKToken = s.unkToken
	}
	return nil
}

// sortedDecoder orders tokenizer_config.json's added_tokens_decoder by id, as transformers does.
func sortedDecoder(name string, dec map[string]addedTokenDef) ([]addedTokenDef, error) {
	type kv struct {
		id  int
		def addedTokenDef
	}
	var list []kv
	for k, d := range dec {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%s: field \"added_tokens_decoder\": key %q is not a non-negative integer id", name, k)
		}
		if d.Content == "" {
			return nil, fmt.Errorf("%s: field \"added_tokens_decoder.%s.content\" is missing or empty", name, k)
		}
		list = append(list, kv{id, d})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	out := make([]addedTokenDef, len(list))
	for i, e := range list {
		out[i] = e.def
	}
	return out, nil
}

// addTokens adds tokens not yet present (by content). With keepIDs the stored ids are used (tokenizer.json
// as is); otherwise ids follow Hugging Face's AddedVocabulary.add_tokens: the model vocabulary id if the
// token is in it, else the next free id above the model vocabulary.
func (s *spec) addTokens(defs []addedTokenDef, keepIDs bool) {
	for _, d := range defs {
		if d.Content == "" {
			continue
		}
		if _, dup := s.addedIndex(d.Content); dup {
			continue
		}
		id := d.ID
		if !keepIDs {
			id = s.newTokenID(d.Content)
		}
		s.added = append(s.added, addedToken{Content: d.Content, ID: id, Special: d.Special, Normalized: d.isNormalized(),
			SingleWord: d.SingleWord, LStrip: d.LStrip, RStrip: d.RStrip})
	}
}

// addNamed adds the named special tokens (transformers adds those missing from the added vocabulary) and
// records their names and ids.
func (s *spec) addNamed(named map[string]tokenField) {
	for _, k := range []string{"unk", "sep", "pad", "cls", "mask"} {
		if f := named[k]; f.set {
			d := f.def
			d.Special = true
			s.addTokens([]addedTokenDef{d}, false)
		}
	}
	s.special.UNKToken = named["unk"].def.Content
	s.special.SEPToken = named["sep"].def.Content
	s.special.PADToken = named["pad"].def.Content
	s.special.CLSToken = named["cls"].def.Content
	s.special.MASKToken = named["mask"].def.Content
}

// addedIndex finds an added token by content.
func (s *spec) addedIndex(content string) (int, bool) {
	for i, a := range s.added {
		if a.Content == content {
			return i, true
		}
	}
	return -1, false
}

// newTokenID is the id Hugging Face gives a token being added.
func (s *spec) newTokenID(content string) int {
	if id, ok := s.vocab[content]; ok {
		return id
	}
	vs := len(s.vocab)
	maxAdded := -1
	for _, a := range s.added {
		maxAdded = max(maxAdded, a.ID)
	}
	if maxAdded < 0 {
		return vs
	}
	if maxAdded >= vs || vs == 0 {
		return maxAdded + 1
	}
	return vs
}

// finish resolves ids of the special and post-processor tokens and checks the spec is usable.
func (s *spec) finish() error {
	if _, ok := s.tokenID(s.unkToken); !ok {
		return fmt.Errorf("unknown token %q is neither in the vocabulary nor an added token", s.unkToken)
	}
	ids := func(toks []string, what string) ([]int, error) {
		out := make([]int, len(toks))
		for i, t := range toks {
			id, ok := s.tokenID(t)
			if !ok {
				return nil, fmt.Errorf("%s token %q is neither in the vocabulary nor an added token", what, t)
			}
			out[i] = id
		}
		return out, nil
	}
	var err error
	if s.special.Prefix, err = ids(s.prefixTokens, "post-processor"); err != nil {
		return err
	}
	if s.special.Suffix, err = ids(s.suffixTokens, "post-processor"); err != nil {
		return err
	}
	lookup := func(tok string) int {
		if tok == "" {
			return -1
		}
		if id, ok := s.tokenID(tok); ok {
			return id
		}
		return -1
	}
	if s.special.CLSToken == "" && len(s.prefixTokens) == 1 {
		s.special.CLSToken = s.prefixTokens[0]
	}
	if s.special.SEPToken == "" && len(s.suffixTokens) == 1 {
		s.special.SEPToken = s.suffixTokens[0]
	}
	s.special.CLS, s.special.SEP = lookup(s.special.CLSToken), lookup(s.special.SEPToken)
	s.special.PAD, s.special.UNK = lookup(s.special.PADToken), lookup(s.special.UNKToken)
	s.special.MASK = lookup(s.special.MASKToken)
	return nil
}

// parsePostProcessor reads the tokens a single sequence is wrapped in from tokenizer.json's
// "post_processor": TemplateProcessing ("single" template), BertProcessing (cls/sep) or null.
func parsePostProcessor(name string, raw json.RawMessage) (prefix, suffix []string, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil, nil
	}
	var pp struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
		Cls []json.RawMessage `json:"cls"`
		Sep []json.RawMessage `json:"sep"`
	}
	if err := json.Unmarshal(raw, &pp); err != nil {
		return nil, nil, fmt.Errorf("%s: field \"post_processor\": %w", name, err)
	}
	switch pp.Type {
	case "TemplateProcessing":
		seen := false
		for i, item := range pp.Single {
			switch {
			case item.Sequence != nil:
				if seen {
					return nil, nil, fmt.Errorf("%s: field \"post_processor.single\" has two sequences", name)
				}
				seen = true
			case item.SpecialToken != nil:
				st, ok := pp.SpecialTokens[item.SpecialToken.ID]
				if !ok {
					return nil, nil, fmt.Errorf("%s: field \"post_processor.single[%d]\": special token %q missing from \"special_tokens\"", name, i, item.SpecialToken.ID)
				}
				if seen {
					suffix = append(suffix, st.Tokens...)
				} else {
					prefix = append(prefix, st.Tokens...)
				}
			default:
				return nil, nil, fmt.Errorf("%s: field \"post_processor.single[%d]\" is neither SpecialToken nor Sequence", name, i)
			}
		}
		if !seen {
			return nil, nil, fmt.Errorf("%s: field \"post_processor.single\" has no Sequence", name)
		}
		return prefix, suffix, nil
	case "BertProcessing":
		tok := func(field string, v []json.RawMessage) (string, error) {
			var t string
			if len(v) != 2 || json.Unmarshal(v[0], &t) != nil {
				return "", fmt.Errorf("%s: field \"post_processor.%s\" must be [token, id]", name, field)
			}
			return t, nil
		}
		c, err := tok("cls", pp.Cls)
		if err != nil {
			return nil, nil, err
		}
		sp, err := tok("sep", pp.Sep)
		if err != nil {
			return nil, nil, err
		}
		return []string{c}, []string{sp}, nil
	}
	return nil, nil, fmt.Errorf("%s: field \"post_processor.type\" is %q; supported: TemplateProcessing, BertProcessing", name, pp.Type)
}
