"""Stages are timed into a timeline with the names of the stages around them; failed ones are left out."""

import time

import pytest

from recsys.stages import recording, stage


def test_nested_stages_are_recorded_with_their_path_in_the_order_they_finish():
    before = time.time()
    with recording() as timeline:
        with stage("models"):
            with stage("item2vec"):
                pass
            with pytest.raises(RuntimeError), stage("ALS"):
                raise RuntimeError("a failed stage")
        with stage("publish"):
            pass
    assert [entry["stage"] for entry in timeline] == ["models / item2vec", "models", "publish"]
    assert all(before - 1 <= entry["start"] <= time.time() + 1 and entry["seconds"] >= 0 for entry in timeline)
    assert timeline[0]["start"] >= timeline[1]["start"]  # the inner stage starts inside the outer one


def test_stages_outside_a_recording_are_only_logged(caplog):
    with caplog.at_level("INFO"), stage("id maps"):
        pass
    assert "id maps done in" in caplog.text
