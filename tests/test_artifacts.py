"""Bundles publish atomically, never half-written, and refuse files that do not match their manifest."""

import pytest

from recsys.artifacts import LATEST, BundleError, BundleWriter, resolve, verify


def write_bundle(root, payload: bytes, fail: bool = False):
    with BundleWriter(root, "b") as bundle:
        bundle.path("vectors/x.npy").write_bytes(payload)
        if fail:
            raise RuntimeError("job died mid-way")
        return bundle.publish({"counts": {"x": 1}})


def test_publish_moves_the_bundle_into_place_then_flips_latest(tmp_path):
    folder = write_bundle(tmp_path, b"one")
    assert resolve(tmp_path, "b") == folder
    manifest = verify(folder)
    assert manifest["files"]["vectors/x.npy"]["bytes"] == 3
    assert manifest["counts"] == {"x": 1}
    assert not list((tmp_path / "b").glob(".staging-*"))


def test_failed_job_leaves_latest_on_the_previous_bundle(tmp_path):
    good = write_bundle(tmp_path, b"good")
    with pytest.raises(RuntimeError, match="mid-way"):
        write_bundle(tmp_path, b"half", fail=True)
    assert resolve(tmp_path, "b") == good
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted([LATEST, good.name])


def test_a_first_build_that_fails_leaves_no_empty_folders(tmp_path):
    root = tmp_path / "artifacts"
    with pytest.raises(RuntimeError, match="mid-way"):
        write_bundle(root, b"half", fail=True)
    assert not root.exists()  # neither the root nor root/b, which the build made
    (root / "b").mkdir(parents=True)
    (root / "b" / "notes.txt").write_text("the user's own")
    with pytest.raises(RuntimeError, match="mid-way"):
        write_bundle(root, b"half", fail=True)
    assert [p.name for p in (root / "b").iterdir()] == ["notes.txt"]  # what was there before is kept


def test_a_second_publish_becomes_latest(tmp_path):
    write_bundle(tmp_path, b"one")
    second = write_bundle(tmp_path, b"two")
    assert resolve(tmp_path, "b") == second


def test_corrupted_or_missing_files_fail_verification(tmp_path):
    folder = write_bundle(tmp_path, b"data")
    (folder / "vectors/x.npy").write_bytes(b"DATA")
    assert verify(folder, checksums=False)  # the same size: only the checksum tells
    with pytest.raises(BundleError, match="does not match its checksum"):
        verify(folder)
    (folder / "vectors/x.npy").write_bytes(b"dat")
    with pytest.raises(BundleError, match="does not match"):
        verify(folder, checksums=False)
    (folder / "vectors/x.npy").unlink()
    with pytest.raises(BundleError, match="missing"):
        verify(folder)


def test_resolve_without_a_published_bundle_says_what_to_do(tmp_path):
    with pytest.raises(BundleError, match="build_embeddings"):
        resolve(tmp_path, "b")


@pytest.mark.parametrize("name", ["", "../x", ".hidden"])
def test_bundle_names_cannot_escape_the_root(tmp_path, name):
    with pytest.raises(ValueError):
        BundleWriter(tmp_path, name)


@pytest.mark.parametrize("version", ["../elsewhere", "/etc", ".staging-x", "a\\..\\b", ""])
def test_latest_cannot_point_outside_the_bundle_home(tmp_path, version):
    """LATEST is read by the service on every reload: a tampered one must not reach outside NAME/."""
    with BundleWriter(tmp_path, "b") as writer:
        writer.publish({})
    (tmp_path / "b" / LATEST).write_text(version + "\n")
    with pytest.raises(BundleError, match="not a bundle version"):
        resolve(tmp_path, "b")


def test_what_a_killed_job_left_is_removed_by_the_next_job_or_by_clean(tmp_path):
    import os
    import subprocess
    import sys

    from recsys.artifacts import main

    good = write_bundle(tmp_path, b"good")
    home = tmp_path / "b"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = home / ".staging-killed"  # as a job killed mid-write leaves it: its owner process is gone
    killed.mkdir()
    (killed / ".owner").write_text(f'{{"host": "{os.uname().nodename}", "pid": {dead.stdout.strip()}}}')
    elsewhere = home / ".staging-other-host"  # another host's job: cannot be checked, removed only once old
    elsewhere.mkdir()
    (elsewhere / ".owner").write_text('{"host": "some-other-host", "pid": 1}')
    stale_latest = home / ".LATEST.tmp-99999999"
    stale_latest.write_text("half")
    os.utime(stale_latest, (0, 0))

    second = write_bundle(tmp_path, b"again")  # a rerun succeeds and sweeps what this host's dead job left
    assert resolve(tmp_path, "b") == second and verify(good) and not killed.exists() and elsewhere.exists()
    assert not stale_latest.exists()

    assert main(["clean", str(tmp_path), "--min-age-hours", "1"]) == 0 and elsewhere.exists()  # younger than an hour
    os.utime(elsewhere, (0, 0))
    assert main(["clean", str(tmp_path), "--name", "b", "--min-age-hours", "1"]) == 0 and not elsewhere.exists()
    assert sorted(p.name for p in home.iterdir()) == sorted([LATEST, good.name, second.name])


def test_a_running_jobs_staging_folder_is_never_cleaned(tmp_path):
    from recsys.artifacts import main

    with BundleWriter(tmp_path, "b") as running:
        running.path("x").write_bytes(b"half")
        assert main(["clean", str(tmp_path), "--min-age-hours", "0"]) == 0  # its owner (this process) is alive
        assert running.staging.is_dir()
        published = running.publish({})
    assert ".owner" not in verify(published)["files"] and not (published / ".owner").exists()


def test_clean_keeps_the_newest_versions_and_always_the_live_one(tmp_path):
    from recsys.artifacts import main

    versions = [write_bundle(tmp_path, str(i).encode()) for i in range(4)]
    home = tmp_path / "b"
    (home / LATEST).write_text(versions[0].name)  # rolled back to the oldest: it is live, so it stays
    assert main(["clean", str(tmp_path), "--keep", "2"]) == 0
    assert sorted(p.name for p in home.iterdir()) == sorted([LATEST, versions[0].name, *(v.name for v in versions[2:])])
    assert resolve(tmp_path, "b") == versions[0] and verify(versions[0])
    with pytest.raises(ValueError, match="keep at least 1"):
        main(["clean", str(tmp_path), "--keep", "0"])


def test_a_build_that_started_earlier_never_takes_latest_from_one_that_started_later(tmp_path):
    """Two builds of one name at once: the one that started later read the newer input, so it stays live even when
    the earlier one finishes last; the earlier one is published beside it, to be served by writing LATEST."""
    early = BundleWriter(tmp_path, "b", version="20261202T100000Z-aaaaaa")
    late = BundleWriter(tmp_path, "b", version="20261202T110000Z-bbbbbb")
    with early, late:
        late.path("x").write_bytes(b"late")
        late_folder = late.publish({})
        early.path("x").write_bytes(b"early")
        early_folder = early.publish({})
    assert resolve(tmp_path, "b") == late_folder
    assert verify(early_folder) and resolve(tmp_path, "b", early_folder.name) == early_folder
    newer = write_bundle(tmp_path, b"newest")  # a build started now is later than both: it goes live
    assert resolve(tmp_path, "b") == newer
