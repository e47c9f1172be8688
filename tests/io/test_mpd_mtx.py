"""MPD JSON slices and MatrixMarket files, each with malformed rows of every kind."""

import json

import pytest

from recsys import schemas as S
from recsys.io import InputSpec, read_interactions
from recsys.settings import InputSettings

pytestmark = pytest.mark.spark

SETTINGS = InputSettings(max_id_length=40)


def track(pos, uri, name="Song", artist="Artist"):
    return {
        "pos": pos,
        "track_uri": uri,
        "track_name": name,
        "artist_uri": "spotify:artist:a",
        "artist_name": artist,
        "album_uri": "spotify:album:x",
        "album_name": "Album",
        "duration_ms": 1000,
    }


def write_slice(path, playlists):
    path.write_text(json.dumps({"info": {"slice": path.name}, "playlists": playlists}, indent=1))


def test_mpd_slices_read_in_parallel_with_bad_rows_set_aside(spark, tmp_path):
    write_slice(
        tmp_path / "mpd.slice.0-1.json",
        [
            {
                "pid": 0,
                "name": "road trip",
                "num_tracks": 3,
                "tracks": [track(1, "spotify:track:b", "B"), track(0, "spotify:track:a", "A"), track(2, None)],
            },
            {"pid": 1, "name": "empty", "num_tracks": 0, "tracks": []},
        ],
    )
    write_slice(
        tmp_path / "mpd.slice.2-3.json",
        [
            {
                "pid": 2,
                "name": "x",
                "num_tracks": 2,
                "tracks": [track("first", "spotify:track:a"), track(1, "spotify:track:" + "z" * 40)],
            },
            {"pid": 3, "name": "y", "num_tracks": 1, "tracks": [track(0, "spotify:track:a", "A")]},
        ],
    )
    (tmp_path / "mpd.slice.4-5.json").write_text('{"info": {}, "playlists": [{"pid": 4, "tracks": [')  # truncated
    result = read_interactions(spark, InputSpec(str(tmp_path), "mpd"), SETTINGS)

    rows = sorted((r[S.USER_ID], r[S.POSITION], r[S.ITEM_ID]) for r in result.interactions.collect())
    assert rows == [("0", 0, "spotify:track:a"), ("0", 1, "spotify:track:b"), ("3", 0, "spotify:track:a")]
    rejects = sorted((r[S.REASON], r[S.SOURCE].rsplit("/", 1)[-1]) for r in result.rejects.collect())
    assert rejects == sorted(
        [
            ("missing item_id", "mpd.slice.0-1.json"),
            ("playlist without tracks", "mpd.slice.0-1.json"),
            ("pos is not an integer", "mpd.slice.2-3.json"),
            ("item_id longer than 40 characters", "mpd.slice.2-3.json"),
            ("not valid JSON", "mpd.slice.4-5.json"),
        ]
    )
    names = {r[S.ITEM_ID]: (r["track_name"], r["artist_name"]) for r in result.item_metadata.collect()}
    assert names == {"spotify:track:a": ("A", "Artist"), "spotify:track:b": ("B", "Artist")}
    titles = {r[S.USER_ID]: r[S.NAME] for r in result.names.collect()}
    assert titles == {"0": "road trip", "1": "empty", "2": "x", "3": "y"}  # every playlist's, as written


MTX = """%%MatrixMarket matrix coordinate integer general
% clicks: playlists x tracks
3 4 9
1 2 5
1 1 2
3 4 1
2 9 1
2 1 -1
2 1 x
2 1 1.5
2 1
0 3 1
"""


def test_mtx_entries_with_labels_and_bad_rows(spark, tmp_path):
    (tmp_path / "clicks.mtx").write_text(MTX)
    (tmp_path / "rows.txt").write_text("alice\nbob\ncarol\n")
    (tmp_path / "cols.txt").write_text("song-a\nsong-b\nsong-c\nsong-d\n")
    spec = InputSpec(
        str(tmp_path / "clicks.mtx"),
        "mtx",
        row_labels=str(tmp_path / "rows.txt"),
        column_labels=str(tmp_path / "cols.txt"),
    )
    result = read_interactions(spark, spec, SETTINGS)
    rows = sorted((r[S.USER_ID], r[S.ITEM_ID], r[S.COUNT], r[S.POSITION]) for r in result.interactions.collect())
    assert rows == [("alice", "song-a", 2, 4), ("alice", "song-b", 5, 3), ("carol", "song-d", 1, 5)]
    assert sorted(r[S.REASON] for r in result.rejects.collect()) == sorted(
        [
            "column outside 1..4",
            "value must be positive",
            "value is not a number",
            "value must be a whole number of clicks",
            "expected 'row column value' (or 'row column' for pattern)",
            "row outside 1..3",
        ]
    )


def test_mtx_pattern_without_labels_uses_the_numbers(spark, tmp_path):
    (tmp_path / "p.mtx").write_text("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n")
    result = read_interactions(spark, InputSpec(str(tmp_path / "p.mtx"), "mtx"), SETTINGS)
    assert sorted((r[S.USER_ID], r[S.ITEM_ID], r[S.COUNT]) for r in result.interactions.collect()) == [
        ("1", "2", 1),
        ("2", "1", 1),
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("%%MatrixMarket matrix array real general", "only 'coordinate"),
        ("%%MatrixMarket matrix coordinate complex general", "only 'coordinate"),
        ("1 2 3", "first line must be a %%MatrixMarket matrix header"),
    ],
)
def test_mtx_unsupported_headers_are_clear_errors(spark, tmp_path, header, message):
    (tmp_path / "m.mtx").write_text(header + "\n1 1 1\n1 1 1\n")
    with pytest.raises(ValueError, match=message):
        read_interactions(spark, InputSpec(str(tmp_path / "m.mtx"), "mtx"), SETTINGS)
