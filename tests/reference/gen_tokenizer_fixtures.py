#!/usr/bin/env python3
"""Generates the tokenizer parity fixtures of trainlib/tokenizer from the reference Python libraries.

Everything expected by the Go tests is computed here by Hugging Face `tokenizers` (plain encodes),
`transformers` (AutoTokenizer, checked to agree) and `sentence-transformers` itself (the ids a
SentenceTransformer feeds its model, i.e. after its truncation to max_seq_length), never by our code.

Outputs (under trainlib/tokenizer/testdata/hf/, self-contained: the Go tests need neither ../shared
nor Python):
  minilm/tokenizer.json, tokenizer_config.json, special_tokens_map.json
      the all-MiniLM-L6-v2 tokenizer (bert-base-uncased vocabulary) reduced to the vocabulary entries
      that any word of the fixture texts could look up. WordPiece only ever looks up substrings of the
      current word, so ids are unchanged; this script verifies that on every text and configuration.
  fixtures.json
      texts (SQuAD v1.1 dev questions and contexts, long texts, hard cases, invalid UTF-8, seeded random
      strings) with their ids; sentence-transformers ids for max_seq_length 128, 256 (the model's own)
      and 512; and configuration variants (cased, do_lower_case, tokenizer.json used as is, left
      truncation, added tokens, a tokenizer.json whose own truncation is max_length 16).
  trained.json (when testdata/trained/tokenizer.json exists, written by TrainWordPiece)
      ids that Hugging Face gives with the tokenizer trained by our Go code.

Usage:
    $(scripts/pyenv.sh) tests/reference/gen_tokenizer_fixtures.py [--shared ../shared/data] [--check OUT_DIR]
--check writes to OUT_DIR instead (the live parity test compares OUT_DIR with the committed files).
"""
import argparse
import base64
import copy
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers.utils.logging as hf_logging  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, normalizers, pre_tokenizers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference/ -> the repository
PKG = os.path.join(ROOT, "trainlib", "tokenizer")
MAX_BYTES = 1 << 20  # fixture files must stay modest

# ---------------------------------------------------------------------------------------------- texts

HARD = [
    ("empty", ""),
    ("space", " "),
    ("spaces", "    "),
    ("tabs_newlines", "\t\n\r\n\t"),
    ("unicode_spaces", "\u00a0\u2002\u3000\u2028\u2029\u202f\u205f"),
    ("mixed_ws", "tab\there\nnew line\r\nwindows\x0bvt\x0cff\x85nel"),
    ("accents", "Café naïve résumé Ångström façade coöperate"),
    ("accents_upper", "ÉCOLE ÀÉÎÕÜ Øre Œuvre"),
    ("vietnamese", "Tiếng Việt có dấu: Hà Nội, Đà Nẵng"),
    ("greek", "Ελληνικά ΟΔΟΣ οδός Σίσυφος"),
    ("turkish", "İstanbul ılık IĞDIR ış"),
    ("german", "Straße STRASSE ẞ Maß"),
    ("polish", "Zażółć gęślą jaźń"),
    ("cyrillic", "Привет, мир! Ёлка"),
    ("chinese", "东京是日本的首都。北京欢迎你！"),
    ("japanese", "ひらがなとカタカナと漢字。"),
    ("korean", "안녕하세요 세계 한국어"),
    ("cjk_compat", "豈更車 丽丸乁"),
    ("cjk_ext_b", "𠀀𠀁𪜀 𫝀"),
    ("fullwidth", "ＡＢＣ１２３！？"),
    ("emoji", "I ❤️ NY 😀👍🏽 🇫🇷 👨‍👩‍👧‍👦"),
    ("new_emoji", "🫠 🫡 🪿 🩷"),
    ("control_chars", "a\x00b\x01c\x07d\x1be\x7ff\x80g\x9fh"),
    ("zero_width", "zero\u200bwidth\u200cnon\u200djoin\ufeffbom\u2060wj\u180emvs"),
    ("soft_hyphen", "co\u00adoperate in\u00adter\u00adna\u00adtion\u00adal"),
    ("bidi_controls", "abc \u202eRTL override\u202c \u200fmark\u200e \u2066iso\u2069"),
    ("rtl_arabic", "مرحبا بالعالم، كيف حالك؟"),
    ("rtl_hebrew", "שלום עולם! עִבְרִית"),
    ("combining", "e\u0301 a\u0308\u0301 n\u0303 c\u0327 \u0301alone"),
    ("zalgo", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307lgo"),
    ("devanagari", "हिन्दी भाषा क्षेत्र"),
    ("thai", "ภาษาไทย สวัสดี"),
    ("tamil", "தமிழ் மொழி"),
    ("word_100", "a" * 100),
    ("word_101", "a" * 101),
    ("word_101_accented", "é" * 101),
    ("word_100_accented", "é" * 100),
    ("word_long_mixed", "supercalifragilisticexpialidocious" * 4),
    ("word_long_punct", "a" * 150 + "." + "b" * 20),
    ("word_long_cjk", "汉" * 120),
    ("url", "https://www.example.com/path/to/page?query=value&other=123#fragment"),
    ("email", "john.doe+tag@example.co.uk"),
    ("code", "def f(x): return x**2 + {'a': [1, 2]}"),
    ("special_tokens", "[CLS] hello [SEP] world [MASK] [PAD] [UNK]"),
    ("special_glued", "hello[MASK]world[SEP]"),
    ("special_lower", "[mask] [cls] [Mask]"),
    ("special_partial", "[MASK [MAS] MASK] [[MASK]]"),
    ("ascii_punct", "Hello, world! (test) [x] {y} <z> \"q\" 'a' `b` $5 100% #tag @user ^ ~ | \\ / * + = _ -"),
    ("unicode_punct", "«guillemets» — dash … ellipsis ¿qué? ¡sí! ‘single’ “double” ‹›"),
    ("numbers", "3.14159 1,000,000 10e-5 2024-01-01 ½ ² ³ ①"),
    ("symbols", "€100 £50 ¥20 © ® ™ ° ± × ÷ ∑ ∫ √ ∞ ≠ ≤"),
    ("math_alnum", "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕 𝓢𝓬𝓻𝓲𝓹𝓽"),
    ("ligatures", "ﬁnance ﬂow Ⅻ ⅻ ㎏"),
    ("private_use", "a\ue000b \U000f0000c"),
    ("tag_chars", "flag\U000e0067\U000e0062end"),
    ("unicode_versions", "\u0890x \u1c89 \ua7cb \u061d \u166d \u0897 \U0001e4d0"),
    ("replacement_char", "bad\ufffdchar \ufffd"),
    ("noncharacters", "a\ufdd0b\uffffc"),
    ("dotless_dotted", "ı İ i̇ I"),
    ("final_sigma", "ΣΟΦΟΣ ὈΔΥΣΣΕΎΣ"),
    ("hangul_jamo", "\u1100\u1161\u11a8 \u3131\u314f"),
    ("mixed_case_words", "McDonald's iPhone eBay NASA's"),
    ("repeated_punct", "!!!??? ... --- ***"),
    ("only_punct", "."),
    ("only_special", "[SEP]"),
]

INVALID_UTF8 = [
    ("bad_ff", b"abc\xffdef"),
    ("truncated_3byte", b"euro \xe2\x82 sign"),
    ("truncated_end", b"caf\xc3"),
    ("truncated_4byte", b"\xf0\x9f\x98 smile"),
    ("surrogate", b"x\xed\xa0\x80y"),
    ("overlong", b"slash\xc0\xafend"),
    ("out_of_range", b"\xf5\x80\x80\x80z"),
    ("lone_continuations", b"\x80\x81\x82 ok"),
    ("valid_mixed", b"ok \xe2\x82\xac \xff ok"),
    ("bad_in_special", b"[MA\xffSK] [MASK]"),
]

FUZZ_POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" \t\n.,;:!?'\"()[]{}<>-_/\\@#$%^&*+=|~`")
    + list("éèêëàâäîïôöùûüçñÉÀÇÑßøåæœ")
    + list("中文字東京日本語한국어ひらカタ")
    + ["\u0301", "\u0308", "\u0327", "\u200b", "\u200d", "\ufeff", "\u00a0", "\u3000", "\x00", "\x1b", "\x7f",
       "\u2028", "\ue000", "\ufffd", "😀", "🏽", "❤", "\ufe0f", "€", "™", "«", "»", "—", "…", "İ", "Σ", "ﬁ",
       "[MASK]", "[SEP]", "[CLS]", "[UNK]", "[PAD]", "Ⅻ", "①", "𝐇", "\u0890", "\u1c89"]
)


def squad_texts(shared):
    path = os.path.join(shared, "squad-v1.1", "dev-v1.1.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    questions, contexts = [], []
    for article in data:
        paragraphs = article["paragraphs"]
        for p in paragraphs[:2]:
            contexts.append(p["context"])
        for qa in paragraphs[0]["qas"][:3]:
            questions.append(qa["question"])
    longs = []
    for i in range(0, 24, 4):
        longs.append(" ".join(contexts[i:i + 6]))
    return questions, contexts, longs


def fuzz_texts(n=60, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(0, 40)
        out.append("".join(rng.choice(FUZZ_POOL) for _ in range(k)))
    return out


# ------------------------------------------------------------------------------------ HF helpers


def plain_tokenizer(path_or_json, normalizer=None):
    if isinstance(path_or_json, str) and os.path.isfile(path_or_json):
        tok = Tokenizer.from_file(path_or_json)
    else:
        tok = Tokenizer.from_str(json.dumps(path_or_json))
    tok.no_truncation()
    tok.no_padding()
    if normalizer is not None:
        tok.normalizer = normalizer
    return tok


def plain_ids(tok, texts):
    return [tok.encode(t).ids for t in texts]


NORMALIZER_VARIANTS = {
    "uncased": lambda: normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True),
    "cased": lambda: normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False),
    "lower_then_cased": lambda: normalizers.Sequence([normalizers.Lowercase(), normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False)]),
    "cased_nostrip": lambda: normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False),
}


def subset_vocab(full_json, texts):
    """Vocabulary entries that WordPiece could look up for any word of texts under any normalizer variant."""
    vocab = full_json["model"]["vocab"]
    prefix = full_json["model"].get("continuing_subword_prefix", "##")
    pre = pre_tokenizers.BertPreTokenizer()
    keep = set()
    for make in NORMALIZER_VARIANTS.values():
        norm = make()
        for text in texts:
            for word, _ in pre.pre_tokenize_str(norm.normalize_str(text)):
                if len(word) > 100:
                    continue
                for i in range(len(word)):
                    for j in range(i + 1, len(word) + 1):
                        piece = word[i:j]
                        if piece in vocab:
                            keep.add(piece)
                        if prefix + piece in vocab:
                            keep.add(prefix + piece)
    for t in full_json["added_tokens"]:
        keep.add(t["content"])
    return {k: v for k, v in vocab.items() if k in keep}


# ------------------------------------------------------------------------------ sentence-transformers


def tiny_st_folder(tok_dir, max_seq_length, do_lower_case, vocab_size):
    """A sentence-transformers folder with the tokenizer files of tok_dir and a tiny random BERT."""
    d = tempfile.mkdtemp(prefix="st-tok-")
    cfg = transformers.BertConfig(vocab_size=vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=8, max_position_embeddings=512)
    torch.manual_seed(0)
    transformers.BertModel(cfg).save_pretrained(d)
    for name in os.listdir(tok_dir):
        shutil.copyfile(os.path.join(tok_dir, name), os.path.join(d, name))
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], f)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": max_seq_length, "do_lower_case": do_lower_case}, f)
    os.makedirs(os.path.join(d, "1_Pooling"))
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}, f)
    return d


def st_ids(folder, texts, batch=64):
    model = sentence_transformers.SentenceTransformer(folder, device="cpu")
    out = []
    for i in range(0, len(texts), batch):
        feats = model.preprocess(texts[i:i + batch])
        ids, mask = feats["input_ids"], feats["attention_mask"]
        for row, m in zip(ids.tolist(), mask.tolist()):
            out.append([x for x, keep in zip(row, m) if keep])
    return out, model.max_seq_length


def write_json(path, obj, compact_lists=True):
    text = json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False)
    if compact_lists:
        # one line per id list keeps the file small and diff-friendly
        import re
        text = re.sub(r"\[\s+([-0-9,\s]*?)\s+\]", lambda m: "[" + ",".join(m.group(1).split()).replace(",,", ",") + "]", text)
    data = (text + "\n").encode("utf-8")
    if len(data) > MAX_BYTES:
        raise SystemExit("%s would be %d bytes, above the %d bytes budget" % (path, len(data), MAX_BYTES))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


# ------------------------------------------------------------------------------------------- main


def main():
    hf_logging.disable_progress_bar()
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--check", help="write into this folder instead of testdata/hf (live parity test)")
    args = ap.parse_args()
    out_dir = args.check or os.path.join(PKG, "testdata", "hf")
    src = os.path.join(args.shared, "models", "all-MiniLM-L6-v2-config")
    full_path = os.path.join(src, "tokenizer.json")
    with open(full_path, encoding="utf-8") as f:
        full_json = json.load(f)

    questions, contexts, longs = squad_texts(args.shared)
    hard_texts = [t for _, t in HARD]
    invalid_texts = [b.decode("utf-8", errors="replace") for _, b in INVALID_UTF8]
    fuzz = fuzz_texts()
    cases = []
    for i, q in enumerate(questions):
        cases.append({"name": "squad_question_%d" % i, "text": q})
    for i, c in enumerate(contexts):
        cases.append({"name": "squad_context_%d" % i, "text": c})
    for i, t in enumerate(longs):
        cases.append({"name": "long_%d" % i, "text": t})
    for name, t in HARD:
        cases.append({"name": name, "text": t})
    for (name, b), t in zip(INVALID_UTF8, invalid_texts):
        cases.append({"name": "invalid_utf8_" + name, "text": t, "bytes_b64": base64.b64encode(b).decode()})
    for i, t in enumerate(fuzz):
        cases.append({"name": "fuzz_%d" % i, "text": t})
    texts = [c["text"] for c in cases]

    added_texts = ["a <ent> b", "a<ent>b", "  <ent>  x", "x\t<ent>\n", "foo bar FOO BAR", "Foo Bar!", "xyz axyz xyz_ xyz. (xyz)",
                   "hello [MASK] <ent> xyz", "<ent><ent>", "café <ent> foo bar", ""]

    # 1. Reduced vocabulary, verified equivalent for every text and normalizer variant.
    sub_vocab = subset_vocab(full_json, texts + added_texts)
    sub_json = copy.deepcopy(full_json)
    sub_json["model"]["vocab"] = sub_vocab
    for vname, make in NORMALIZER_VARIANTS.items():
        a = plain_ids(plain_tokenizer(full_path, make()), texts + added_texts)
        b = plain_ids(plain_tokenizer(sub_json, make()), texts + added_texts)
        bad = [i for i in range(len(a)) if a[i] != b[i]]
        if bad:
            raise SystemExit("reduced vocabulary changes ids (%s) for texts %s" % (vname, bad[:5]))
    minilm = os.path.join(out_dir, "minilm")
    os.makedirs(minilm, exist_ok=True)
    sizes = {}
    sizes["minilm/tokenizer.json"] = write_json(os.path.join(minilm, "tokenizer.json"), sub_json, compact_lists=False)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(minilm, name))

    # 2. Plain Hugging Face tokenizers ids, and transformers' AutoTokenizer agreeing with them.
    plain = plain_ids(plain_tokenizer(full_path), texts)
    auto = transformers.AutoTokenizer.from_pretrained(src)
    via_auto = [auto(t)["input_ids"] for t in texts]
    bad = [cases[i]["name"] for i in range(len(texts)) if via_auto[i] != plain[i]]
    if bad:
        raise SystemExit("transformers AutoTokenizer disagrees with tokenizers on %s" % bad[:5])
    for c, ids in zip(cases, plain):
        c["ids"] = ids

    # 3. sentence-transformers ids at max_seq_length 128, 256 (the model's sentence_bert_config) and 512.
    vocab_size = 30522 + 8
    checks = []
    for L in (128, 256, 512):
        folder = tiny_st_folder(minilm, L, False, vocab_size)
        got, msl = st_ids(folder, texts)
        assert msl == L, (msl, L)
        for c, ids in zip(cases, got):
            if len(c["ids"]) > L:
                c["st_%d" % L] = ids
            elif ids != c["ids"]:
                raise SystemExit("sentence-transformers changed a text shorter than max_seq_length: %s" % c["name"])
        shutil.rmtree(folder)
    checks.append("sentence-transformers ids equal plain ids for every text not longer than max_seq_length (128, 256, 512)")

    # 4. Variants of the configuration.
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        base_cfg = json.load(f)
    hard_idx = [i for i, c in enumerate(cases) if not c["name"].startswith(("squad_context", "fuzz", "long"))]
    long_idx = [i for i, c in enumerate(cases) if c["name"].startswith(("squad_context", "long"))][:40]
    cased_cfg = dict(base_cfg, do_lower_case=False)
    as_is_json = {"normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": False, "lowercase": False}}
    added_cfg = dict(base_cfg)
    added_cfg["added_tokens_decoder"] = {
        "0": {"content": "[PAD]", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "100": {"content": "[UNK]", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "101": {"content": "[CLS]", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "102": {"content": "[SEP]", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "103": {"content": "[MASK]", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "30522": {"content": "<ent>", "lstrip": True, "normalized": False, "rstrip": True, "single_word": False, "special": True},
        "30523": {"content": "Foo Bar", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False, "special": False},
        "30524": {"content": "xyz", "lstrip": False, "normalized": False, "rstrip": False, "single_word": True, "special": False},
    }
    variants = [
        {"name": "tokenizer_json_truncation_16", "doc": "tokenizer.json asks for truncation max_length 16 and fixed padding 16: ignored",
         "tokenizer_config": base_cfg, "tokenizer_json_patch": {"truncation": {"max_length": 16, "strategy": "LongestFirst", "stride": 0, "direction": "Right"},
                                                                 "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}},
         "do_lower_case": False, "max_seq_length": 128, "cases": hard_idx + long_idx},
        {"name": "cased", "doc": "tokenizer_config do_lower_case=false: transformers rebuilds a cased BertNormalizer (tokenizer.json's is ignored)",
         "tokenizer_config": cased_cfg, "tokenizer_json_patch": {}, "do_lower_case": False, "max_seq_length": 128, "cases": hard_idx},
        {"name": "cased_st_lower", "doc": "cased tokenizer + sentence_bert_config do_lower_case=true: Lowercase() put in front",
         "tokenizer_config": cased_cfg, "tokenizer_json_patch": {}, "do_lower_case": True, "max_seq_length": 128, "cases": hard_idx},
        {"name": "uncased_st_lower", "doc": "uncased tokenizer + do_lower_case=true (BertNormalizer lowercase does not count as Lowercase)",
         "tokenizer_config": base_cfg, "tokenizer_json_patch": {}, "do_lower_case": True, "max_seq_length": 64, "cases": hard_idx + long_idx[:10]},
        {"name": "as_is", "doc": "tokenizer_class PreTrainedTokenizerFast: tokenizer.json used as is (its cased normalizer applies)",
         "tokenizer_config": dict(base_cfg, tokenizer_class="PreTrainedTokenizerFast", do_lower_case=True), "tokenizer_json_patch": as_is_json,
         "do_lower_case": False, "max_seq_length": 128, "cases": hard_idx},
        {"name": "left_truncation", "doc": "tokenizer_config truncation_side=left keeps the last tokens",
         "tokenizer_config": dict(base_cfg, truncation_side="left"), "tokenizer_json_patch": {}, "do_lower_case": False, "max_seq_length": 32, "cases": long_idx[:20]},
        {"name": "added_tokens", "doc": "added_tokens_decoder with lstrip/rstrip, a normalized multi-word token and a single_word token",
         "tokenizer_config": added_cfg, "tokenizer_json_patch": {}, "do_lower_case": False, "max_seq_length": 128, "texts": added_texts + hard_texts[:20]},
    ]
    out_variants = []
    for v in variants:
        d = tempfile.mkdtemp(prefix="tok-variant-")
        tj = copy.deepcopy(sub_json)
        tj.update(v["tokenizer_json_patch"])
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(v["tokenizer_config"], f, ensure_ascii=False)
        shutil.copyfile(os.path.join(src, "special_tokens_map.json"), os.path.join(d, "special_tokens_map.json"))
        vtexts = v.get("texts") or [texts[i] for i in v["cases"]]
        folder = tiny_st_folder(d, v["max_seq_length"], v["do_lower_case"], vocab_size)
        got, _ = st_ids(folder, vtexts)
        shutil.rmtree(folder)
        shutil.rmtree(d)
        ov = {k: v[k] for k in ("name", "doc", "tokenizer_config", "tokenizer_json_patch", "do_lower_case", "max_seq_length")}
        if "texts" in v:
            ov["cases"] = [{"text": t, "ids": ids} for t, ids in zip(vtexts, got)]
        else:
            ov["cases"] = [{"case": i, "ids": ids} for i, ids in zip(v["cases"], got)]
        out_variants.append(ov)
        if v["name"] == "tokenizer_json_truncation_16":
            for i, ids in zip(v["cases"], got):
                want = cases[i].get("st_128", cases[i]["ids"])
                if ids != want:
                    raise SystemExit("tokenizer.json truncation 16 changed sentence-transformers ids for %s" % cases[i]["name"])
            checks.append("a tokenizer.json with truncation max_length 16 / padding Fixed 16 gives the same ids as the original")

    fixture = {
        "generator": "tests/reference/gen_tokenizer_fixtures.py",
        "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__, "python": sys.version.split()[0]},
        "tokenizer": "all-MiniLM-L6-v2 (bert-base-uncased vocabulary), reduced: testdata/hf/minilm",
        "checks": checks,
        "cases": cases,
        "variants": out_variants,
    }
    sizes["fixtures.json"] = write_json(os.path.join(out_dir, "fixtures.json"), fixture)

    # 5. The tokenizer trained by our Go TrainWordPiece, loaded by Hugging Face.
    trained_dir = os.path.join(PKG, "testdata", "trained")
    if os.path.isfile(os.path.join(trained_dir, "tokenizer.json")):
        ttexts = questions[:60] + hard_texts
        tplain = plain_ids(plain_tokenizer(os.path.join(trained_dir, "tokenizer.json")), ttexts)
        tauto = transformers.AutoTokenizer.from_pretrained(trained_dir)
        tvia = [tauto(t)["input_ids"] for t in ttexts]
        if tvia != tplain:
            raise SystemExit("transformers and tokenizers disagree on the trained tokenizer")
        folder = tiny_st_folder(trained_dir, 32, False, tauto.backend_tokenizer.get_vocab_size(with_added_tokens=True) + 8)
        tst, _ = st_ids(folder, ttexts)
        shutil.rmtree(folder)
        sizes["trained.json"] = write_json(os.path.join(out_dir, "trained.json"), {
            "generator": "tests/reference/gen_tokenizer_fixtures.py", "versions": fixture["versions"],
            "cases": [{"text": t, "ids": a, "st_32": b} for t, a, b in zip(ttexts, tplain, tst)]})
    for k, v in sizes.items():
        print("%-24s %7d bytes" % (k, v), file=sys.stderr)
    print("%d cases, %d variants, vocabulary reduced to %d entries" % (len(cases), len(out_variants), len(sub_vocab)), file=sys.stderr)


if __name__ == "__main__":
    main()
