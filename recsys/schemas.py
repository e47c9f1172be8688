"""Names and Arrow schemas of every table that crosses a boundary (Spark -> Parquet -> models -> service).

Spark code builds its frames with these column names; single-node readers validate against the schemas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

# Canonical interactions, as every reader produces them (string ids, before id mapping).
USER_ID = "user_id"
ITEM_ID = "item_id"
COUNT = "count"
POSITION = "position"
TIMESTAMP = "timestamp"
ROW = "row"  # input order, the tie-breaker after position

# A playlist's name (title), where the input has one: beside user_id in the users id map.
NAME = "name"

# Dense integer indexes assigned by the id maps.
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"

# Rejects: the raw row as text, the reason it was refused, and which input it came from.
RAW = "raw"
REASON = "reason"
SOURCE = "source"

# Derived tables.
ITEMS = "items"  # sequences: ordered item_idx list per user
ITEM_A = "item_a"
ITEM_B = "item_b"
WEIGHT = "weight"  # transitions: how strongly item_b follows item_a

RATINGS_SCHEMA = pa.schema([(USER_IDX, pa.int32()), (ITEM_IDX, pa.int32()), (COUNT, pa.int64())])
COOCCURRENCE_SCHEMA = pa.schema([(ITEM_A, pa.int32()), (ITEM_B, pa.int32()), (COUNT, pa.int64())])
TRANSITIONS_SCHEMA = pa.schema([(ITEM_A, pa.int32()), (ITEM_B, pa.int32()), (WEIGHT, pa.float32())])
SEQUENCES_SCHEMA = pa.schema([(USER_IDX, pa.int32()), (ITEMS, pa.list_(pa.int32()))])
HOLDOUT_SCHEMA = pa.schema([(USER_IDX, pa.int32()), (ITEM_IDX, pa.int32())])
USERS_SCHEMA = pa.schema([(USER_IDX, pa.int32()), (USER_ID, pa.string())])
REJECTS_SCHEMA = pa.schema([(SOURCE, pa.string()), (RAW, pa.string()), (REASON, pa.string())])


class SchemaError(ValueError):
    """A table on disk does not have the columns and types the next stage expects."""


def read_table(path: str | Path, schema: pa.Schema) -> pa.Table:
    """Read a Parquet file or folder and check it carries ``schema``'s columns with castable types."""
    table = pq.read_table(path)
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise SchemaError(f"{path}: expected columns {schema.names}, missing {missing} (found {table.column_names})")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(f"{path}: columns do not cast to {schema}: {exc}") from exc


#: (user of each list, offsets, items), list u being items[offsets[u]:offsets[u+1]].
Sequences = tuple[np.ndarray, np.ndarray, np.ndarray]


def read_sequences(sequences_path: str) -> Sequences:
    """The sequences table flattened: (user of each list, offsets, items), list u being items[offsets[u]:offsets[u+1]].

    Consumers work on the offsets with numpy, so no Python loop runs over users.
    """
    table = ds.dataset(sequences_path, format="parquet").to_table(columns=SEQUENCES_SCHEMA.names)
    table = table.cast(SEQUENCES_SCHEMA).combine_chunks()
    if not table.num_rows:
        return np.empty(0, np.int32), np.zeros(1, np.int64), np.empty(0, np.int32)
    lists = table.column(ITEMS).chunk(0)
    offsets = lists.offsets.to_numpy().astype(np.int64)
    items = lists.values.to_numpy()[offsets[0] : offsets[-1]]
    return table.column(USER_IDX).to_numpy(), offsets - offsets[0], items
