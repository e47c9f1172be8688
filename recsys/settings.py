"""One typed settings object for every job and the service.

Layers, lowest first: the defaults below (written to conf/base.toml by recsys.base_toml) < conf/base.toml <
conf/<RECSYS_ENV>.toml < environment variables ``RECSYS__SECTION__KEY`` < ``--set section.key=value``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

#: Where conf/ lives in a source checkout; RECSYS_CONF_DIR points elsewhere.
DEFAULT_CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


class Section(BaseModel):
    """A settings section; unknown keys are errors, so a typo in --set or a TOML file never passes silently."""

    model_config = ConfigDict(extra="forbid")


class SparkSettings(Section):
    """The Spark session every job starts (recsys/spark/session.py)."""

    master: str = Field("", description="Empty: spark-submit's --master, else Spark's default local[*].")
    app_name: str = Field("recsys", description="The application's name in Spark's UI and logs.")
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions: partitions after each shuffle.")
    bypass_partial_aggregation: bool = Field(
        True,
        description="Skip the pre-shuffle partial aggregation: (user, item) and pair keys are mostly distinct, "
        "so it costs more than it saves (docs/BENCHMARKS.md).",
    )
    log_level: str = Field("WARN", description="Spark's own log level (its INFO lines are many).")
    driver_memory: str = Field(
        "auto",
        pattern=r"^(auto|[1-9][0-9]*[mMgG])$",
        description="Driver heap when Python starts Spark (spark-submit's --driver-memory wins): auto is 40% of the "
        "machine in local mode, Spark's default on a cluster; or a size such as 8g.",
    )


class InputSettings(Section):
    """Every reader's row checks: rows that fail them go to the rejects table with a reason."""

    max_id_length: int = Field(256, ge=1, description="Longer user or item ids are rejected.")
    max_reject_ratio: float = Field(0.01, ge=0.0, le=1.0, description="Stop the job above this share of bad rows.")


class CooccurrenceSettings(Section):
    """Which tracks appear together (recsys/spark/tables.py): the co-occurrence model and table."""

    window: int = Field(3, ge=1, description="Pairs are counted between items at most this many positions apart.")
    top_n: int = Field(100, ge=1, description="Neighbours kept per item.")
    max_pairs_per_playlist: int = Field(
        100_000,
        ge=1,
        description="Pairs counted per playlist at most: only the first max_pairs/window items of a longer one "
        "start pairs.",
    )


class SequentialSettings(Section):
    """Sequential rules (recsys/models/sequential.py): what follows each track, counted by Spark
    (recsys/spark/tables.py transitions). Defaults measured on yes_small (docs/models.md)."""

    window: int = Field(10, ge=1, description="A track counts as following another at most this many positions on.")
    top_n: int = Field(100, ge=1, description="Followers kept per track, heaviest first.")
    max_pairs_per_playlist: int = Field(
        100_000,
        ge=1,
        description="Pairs counted per playlist at most: only the first max_pairs/window items of a longer one "
        "start pairs.",
    )
    decay: float = Field(
        0.7,
        gt=0.0,
        le=1.0,
        description="Weight of each older item, per step back, among the latest item2vec.context_items a user "
        "holds (1: all alike).",
    )
    next_weight: float = Field(
        0.25,
        ge=0.0,
        description="Their weight in GET /next's fusion, beside item2vec's and co-occurrence's blend weights.",
    )


class EaseSettings(Section):
    """EASE's closed form (recsys/models/ease.py); chosen on yes_small's validation split (docs/models.md)."""

    l2: float = Field(100.0, gt=0.0, description="L2 penalty on the item x item weights.")
    max_items: int = Field(
        15_000, ge=0, description="Larger catalogues leave EASE out: its dense solve peaks at ~4 x items^2 x 4 bytes."
    )
    top_n: int = Field(300, ge=1, description="Weights kept per item, largest magnitude first.")


class UserKNNSettings(Section):
    """User-based nearest neighbours (recsys/models/user_knn.py); chosen on yes_small's validation split, the
    neighbours inside the blend, which fuses best with fewer than the model alone would take (docs/models.md)."""

    neighbours: int = Field(50, ge=1, description="Most similar users whose items are scored.")
    length_exponent: float = Field(
        0.5, ge=0.0, description="Similarity is divided by the neighbour's item count to this power."
    )
    idf: bool = Field(True, description="Weigh shared items by log(users / holders): rare ones say more.")


class Item2VecSettings(Section):
    """Defaults chosen on yes_small's validation split (bench/tune.py; docs/models.md)."""

    vector_size: int = Field(64, ge=2, description="Dimensions of each item (and user) vector.")
    window: int = Field(5, ge=1, description="Skip-gram context: items this many positions either side.")
    negative: int = Field(10, ge=1, description="Negative samples drawn per positive pair.")
    ns_exponent: float = Field(0.0, description="Negative-sampling exponent; may be negative.")
    sample: float = Field(1e-3, ge=0.0, description="Frequent items are down-sampled above this share of tokens.")
    min_count: int = Field(1, ge=1, description="Items seen fewer times get no vector.")
    epochs: int = Field(100, ge=1, description="Passes over the corpus, at most (see token_budget).")
    token_budget: int = Field(
        20_000_000,
        ge=1,
        description="Tokens x epochs one fit trains on: a larger corpus gets fewer epochs (never under min_epochs) "
        "and a learning rate raised to match (docs/scaling.md).",
    )
    min_epochs: int = Field(3, ge=1, description="The fewest epochs token_budget may leave.")
    alpha: float = Field(0.025, gt=0.0, description="Initial learning rate at full epochs (gensim's default).")
    max_alpha: float = Field(
        0.15, gt=0.0, description="The highest initial learning rate fewer epochs may raise it to (0.3 diverged)."
    )
    workers: int = Field(2, ge=1, description="gensim's training threads (more than one varies runs slightly).")
    seed: int = Field(7, description="Seed of the initial vectors and the sampling.")
    context_items: int = Field(5, ge=1, description="Latest items the next-song score looks back on.")
    context_decay: float = Field(1.0, gt=0.0, le=1.0, description="Weight of each older context item, per step.")
    user_weighting: Literal["mean", "idf", "recency"] = Field(
        "mean", description="User vector = mean of the user's item vectors, idf- or recency-weighted."
    )
    user_recency_decay: float = Field(0.9, gt=0.0, le=1.0, description="recency: weight per step of age.")


class TitleSettings(Section):
    """The title model (recsys/models/title.py), fitted where the input names its playlists; chosen on MPD-shaped
    synthetic titles only (docs/models.md): a check of the machinery, not tuned on real names."""

    smoothing: float = Field(
        100.0, ge=0.0, description="Pseudo-playlists by which a name leans on its words, and words on popularity."
    )
    top_n: int = Field(1000, ge=1, description="Tracks kept per name and per word, most held first.")


class ALSSettings(Section):
    """Defaults chosen on yes_small's validation split (bench/tune.py; docs/models.md)."""

    factors: int = Field(64, ge=1, description="Latent factors per user and item.")
    regularization: float = Field(0.05, ge=0.0, description="L2 penalty on the factors.")
    alpha: float = Field(1.0, gt=0.0, description="Confidence = 1 + alpha * t(count), t from `confidence`.")
    confidence: Literal["linear", "log", "bm25"] = Field(
        "bm25", description="t(count): count, log(1 + count / log_epsilon), or BM25-weighted count."
    )
    log_epsilon: float = Field(1.0, gt=0.0, description="confidence=log: the count's scale.")
    bm25_k1: float = Field(100.0, gt=0.0, description="confidence=bm25: how slowly repeated counts saturate.")
    bm25_b: float = Field(
        0.8, ge=0.0, le=1.0, description="confidence=bm25: how far a long playlist's counts are scaled down."
    )
    iterations: int = Field(15, ge=1, description="Alternating least-squares sweeps.")
    backend: Literal["auto", "implicit", "torch", "spark"] = Field(
        "auto",
        description="auto: torch's CG on a GPU, implicit on the CPU; implicit or torch: that solver (its GPU "
        "build per use_gpu); spark: MLlib ALS on the cluster.",
    )
    use_gpu: Literal["auto", "true", "false"] = Field(
        "auto", description="auto: a GPU where the backend has one and the data fits; true: insist; false: the CPU."
    )
    seed: int = Field(7, description="Seed of the initial factors.")


class BlendSettings(Section):
    """Weights of the rank fusion; 0 leaves a model out. Chosen on a validation split (docs/models.md)."""

    als: float = Field(1.0, ge=0.0, description="ALS's weight.")
    item2vec: float = Field(1.0, ge=0.0, description="item2vec's weight.")
    cooccurrence: float = Field(0.5, ge=0.0, description="Co-occurrence's weight.")
    sequential: float = Field(
        0.0,
        ge=0.0,
        description="The sequential rules' weight (0: they cost yes_small's blend 0.001; GET /next weighs them by "
        "sequential.next_weight).",
    )
    ease: float = Field(1.0, ge=0.0, description="Used where the catalogue is small enough for EASE (ease.max_items).")
    user_knn: float = Field(1.0, ge=0.0, description="user kNN's weight.")
    title: float = Field(
        0.25,
        ge=0.0,
        description="The title model's weight where a playlist is named (tuned on synthetic names: docs/models.md).",
    )
    depth: int = Field(100, ge=1, description="Items each model ranks per user before fusion.")
    rank_offset: float = Field(10.0, ge=0.0, description="k in weight / (k + rank): larger flattens the ranks.")


class RankerSettings(Section):
    """The second stage (recsys/models/ranker.py): trees over the blend's members' candidates. Chosen on yes_small's
    validation users (bench/ranker.py, docs/models.md)."""

    enabled: bool = Field(
        False,
        description="Train the ranker in the build (every model fitted once more, on a carved split) and serve "
        "it as model=ranker. Off: it does not beat the blend yet (docs/models.md).",
    )
    users: int = Field(
        50_000,
        ge=1,
        description="Users drawn to label the trees' training pairs, carved as the evaluation carves its test (a "
        "seeded share, about this many of all; split=users: at most its holdout_fraction); those shorter than "
        "evaluation.min_items give no label, so fewer are labelled where many are short.",
    )
    candidates: int = Field(100, ge=1, description="Items each member lists per user; their union is re-ranked.")
    learning_rate: float = Field(0.03, gt=0.0, description="LightGBM's shrinkage.")
    leaves: int = Field(63, ge=2, description="Leaves per tree.")
    min_data_in_leaf: int = Field(200, ge=1, description="Fewest (user, candidate) pairs a leaf may hold.")
    max_trees: int = Field(2000, ge=1, description="Most trees; training stops earlier when NDCG@10 stops rising.")
    patience: int = Field(
        100, ge=1, description="Trees without a better NDCG@10 on the stopping users before it stops."
    )
    validation_share: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of the training users kept aside to decide when to stop."
    )
    threads: int = Field(0, ge=0, description="LightGBM's threads; 0: as many as the machine has cores.")
    seed: int = Field(0, description="Seeds the stopping users, the bagging and the feature sampling.")


class IndexSettings(Section):
    """FAISS index sizing: exact below ``exact_below`` vectors, approximate above (docs/models.md)."""

    kind: Literal["auto", "flat", "pruned", "hnsw", "ivfpq"] = Field(
        "auto",
        description="auto: flat below exact_below vectors; above, pruned (exact) for inner products whose norms "
        "prune, else hnsw.",
    )
    exact_below: int = Field(100_000, ge=1, description="kind=auto: fewer vectors than this get an exact flat index.")
    hnsw_m: int = Field(32, ge=4, description="Graph neighbours per vector: more is better recall, more memory.")
    hnsw_ef_construction: int = Field(200, ge=8, description="Build breadth: more is a better graph, a slower build.")
    hnsw_ef_search: int = Field(128, ge=8, description="Search breadth: more is better recall, fewer queries/s.")
    ivf_nlist: int = Field(0, ge=0, description="IVF cells; 0: 4 x sqrt(vectors).")
    ivf_nprobe: int = Field(32, ge=1, description="IVF cells searched per query, where the build starts widening.")
    pq_bytes: int = Field(16, ge=1, description="PQ code bytes per vector; must divide the vector size.")
    recall_queries: int = Field(1000, ge=1, description="Queries sampled to measure ANN recall@10 at build time.")
    target_recall: float = Field(
        0.95, gt=0.0, le=1.0, description="Approximate indexes widen their search until recall@10 reaches this."
    )
    hnsw_ef_search_max: int = Field(2048, ge=8, description="The widest HNSW search the build may settle on.")
    min_recall_gain: float = Field(
        0.005, ge=0.0, description="Widening stops when doubling the search raises recall@10 by less than this."
    )


class EvaluationSettings(Section):
    """The build's own offline evaluation (recsys/evaluation/), and jobs/evaluate.py's (docs/EVALUATION.md)."""

    enabled: bool = Field(True, description="The build evaluates before publishing; report.json lands in the bundle.")
    split: Literal["last", "random", "users", "temporal", "challenge"] = Field(
        "last",
        description="last n items per playlist, a random share of each user's items, held-out users (a share of "
        "each one's items predicted from the rest), the latest times, or the RecSys Challenge 2018's ten "
        "categories of held-out playlists (seeds and titles given, 500 ranked).",
    )
    holdout_fraction: float = Field(
        0.2, gt=0.0, le=1.0, description="Share of users (playlists) evaluated; split=users: left out of training."
    )
    holdout_items: int = Field(1, ge=1, description="split=last: how many of the last items are held out.")
    holdout_share: float = Field(
        0.2, gt=0.0, lt=1.0, description="split=random, users: share of a user's items; temporal: of the time span."
    )
    min_items: int = Field(3, ge=2, description="Only playlists at least this long give a held-out item.")
    k: int = Field(10, ge=1, description="The cut-off of recall@k and the other @k metrics.")
    max_users: int = Field(
        10_000,
        ge=0,
        description="Hold out and rank this many users at most (holdout_fraction shrinks to fit; every model "
        "scores the whole catalogue for each); 0: no cap.",
    )
    refit_above: float = Field(
        0.001,
        ge=0.0,
        le=1.0,
        description="After evaluating, refit every model on the whole log only when the held-out pairs are more "
        "than this share of it; at or below, the bundle publishes the evaluated models, which saw all but that "
        "share (split=users always refits).",
    )
    seed: int = Field(42, description="Seed of the split.")


class ImagesSettings(Section):
    """jobs/index_images.py and image uploads; the head's settings were chosen on flowers5 (docs/images.md)."""

    backbone: str = Field(
        "efficientnet_lite0", description="Frozen ImageNet CNN, a name in recsys/images/backbone.py's BACKBONES."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA where torch sees a GPU.")
    batch_size: int = Field(32, ge=1, description="Images per forward pass in each Spark task.")
    decode_threads: int = Field(
        0, ge=0, description="Threads decoding images per task; 0: one on the CPU, every core with a GPU."
    )
    max_bytes: int = Field(20_000_000, ge=1, description="Larger files (and uploads) are rejected unread.")
    max_pixels: int = Field(40_000_000, ge=1, description="Larger images are rejected from their header.")
    near_duplicate_cosine: float = Field(0.95, gt=0.0, le=1.0, description="Pairs at least this similar are listed.")
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="Share of each class held out to measure the head.")
    knn_k: int = Field(5, ge=1, description="Neighbours in the kNN precision-by-class report.")
    head_l2: float = Field(
        0.001,
        ge=0.0,
        description="L2 penalty of the linear head (flowers5: 0.94 accuracy at 1e-3 and 1e-4, 0.84 at 1e-2).",
    )
    seed: int = Field(42, description="Seed of the held-out split and the head's fit.")


#: serving.default_model's value that lets each bundle choose (recsys/bundle/default.py).
AUTO_MODEL = "auto"


class ServingSettings(Section):
    """The service (serving/, docs/api.md and docs/deployment.md)."""

    artifacts: str = Field("", description="Artifact root holding NAME/LATEST; python -m serving --artifacts sets it.")
    name: str = Field(
        "default", description="The playlist bundle's name under artifacts; --name sets it; '': none (images only)."
    )
    images_name: str = Field("", description="An image bundle (jobs/index_images.py) to serve beside; '': none.")
    default_model: str = Field(
        AUTO_MODEL,
        description="The model of GET /recommend, POST /recommend and /recommend/batch when a request names none "
        "(GET /models says which, and why): auto, the best the bundle's own evaluation measured among those it "
        "serves; or a model's name, which the service refuses to start with where the registry does not know it, "
        "and to serve a bundle without.",
    )
    default_k: int = Field(10, ge=1, description="Items an answer holds when the request gives no k.")
    max_k: int = Field(500, ge=1, description="The largest k a request may ask for (422 above).")
    max_batch: int = Field(100, ge=1, description="Most users one POST /recommend/batch may ask for.")
    max_body_bytes: int = Field(
        1 << 20, ge=1024, description="Largest request body outside image uploads (images.max_bytes caps those): 413."
    )
    admin_token: SecretStr = Field(
        SecretStr(""),
        description="Enables POST /admin/reload for holders of it; set RECSYS__SERVING__ADMIN_TOKEN, never a file.",
    )
    watch_interval_s: float = Field(0.0, ge=0.0, description="Seconds between checks of LATEST; 0: no watch.")
    threads: int = Field(
        1, ge=1, description="CPU threads one request may use in FAISS and BLAS: requests already run in parallel."
    )
    upload_decodes: int = Field(
        2, ge=1, description="Image uploads a worker decodes and embeds at once; the others wait for a turn."
    )
    upload_wait_s: float = Field(
        10.0, ge=0.0, description="How long an upload waits for a turn before a 503 with Retry-After."
    )
    upload_memory_mb: int = Field(
        384,
        ge=1,
        description="Memory a worker's upload decodes may take together: an upload's pixel cap is derived from it, "
        "upload_decodes and images.max_bytes (below images.max_pixels where that is lower; docs/security.md).",
    )
    load_in_background: bool = Field(
        True,
        description="Answer /healthz (and 503 elsewhere) while the first bundle loads; false: accept no "
        "connection until it has (what python -m serving --workers N > 1 sets, so no worker serves unready).",
    )


class Settings(BaseSettings):
    """Everything a job or the service can be told; conf/base.toml lists every key with its default."""

    model_config = SettingsConfigDict(env_prefix="RECSYS__", env_nested_delimiter="__", extra="forbid")

    spark: SparkSettings = SparkSettings()
    input: InputSettings = InputSettings()
    cooccurrence: CooccurrenceSettings = CooccurrenceSettings()
    sequential: SequentialSettings = SequentialSettings()
    item2vec: Item2VecSettings = Item2VecSettings()
    ease: EaseSettings = EaseSettings()
    user_knn: UserKNNSettings = UserKNNSettings()
    title: TitleSettings = TitleSettings()
    als: ALSSettings = ALSSettings()
    blend: BlendSettings = BlendSettings()
    ranker: RankerSettings = RankerSettings()
    index: IndexSettings = IndexSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    images: ImagesSettings = ImagesSettings()
    serving: ServingSettings = ServingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier wins: --set (passed as init kwargs) > environment > TOML files (merged by load_settings).
        return init_settings, env_settings


class SettingsError(ValueError):
    """A setting that does not exist or cannot take its value, from --set, a TOML layer or the environment."""


def _nearest(location: tuple[str, ...]) -> str:
    """' (did you mean section.key?)' for a mistyped name, or the names that do exist."""
    fields: dict[str, Any] = Settings.model_fields
    if len(location) > 1 and location[0] in fields:
        fields = fields[location[0]].annotation.model_fields
    match = difflib.get_close_matches(location[-1], list(fields), n=1, cutoff=0.6)
    if match:
        return f" (did you mean {'.'.join([*location[:-1], match[0]])}?)"
    return f" (known: {', '.join(fields)})"


def explain(error: ValidationError) -> SettingsError:
    """pydantic's report as one line: each setting named as section.key, with what would be right."""
    problems = []
    for item in error.errors():
        location = tuple(str(part) for part in item["loc"])
        name = ".".join(location)
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown setting {name}{_nearest(location)}")
        else:
            problems.append(f"setting {name}={item['input']!r}: {item['msg']}")
    return SettingsError("; ".join(problems))


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["als.factors=128", ...]`` into a nested dict; pydantic coerces the strings."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ValueError(f"--set expects section.key=value, got {pair!r}")
        nested.setdefault(parts[0], {})[parts[1]] = value
    return nested


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml_layers(conf_dir: Path, env: str | None) -> dict[str, Any]:
    layers: dict[str, Any] = {}
    for name in ["base", env] if env else ["base"]:
        path = conf_dir / f"{name}.toml"
        if path.is_file():
            layers = _merge(layers, tomllib.loads(path.read_text()))
        elif name == env:
            raise FileNotFoundError(
                f"settings layer {env!r} (--env or RECSYS_ENV) but {path} does not exist: point RECSYS_CONF_DIR at "
                "the folder holding base.toml and ENV.toml (the checkout's conf/; an installed package has none)"
            )
    return layers


def conf_dir() -> Path:
    """The folder of base.toml, the settings layers and Spark's log4j2.properties: $RECSYS_CONF_DIR, else conf/."""
    return Path(os.environ.get("RECSYS_CONF_DIR", DEFAULT_CONF_DIR))


def load_settings(overrides: list[str] | None = None, env: str | None = None) -> Settings:
    """Build the settings from every layer. ``env`` defaults to $RECSYS_ENV (no env layer if unset)."""
    file_values = _read_toml_layers(conf_dir(), env or os.environ.get("RECSYS_ENV"))
    cli_values = parse_overrides(overrides or [])
    try:
        env_values = Settings().model_dump(exclude_unset=True)  # environment only: nothing else is set here
        return Settings(**_merge(_merge(file_values, env_values), cli_values))
    except ValidationError as exc:
        raise explain(exc) from None
