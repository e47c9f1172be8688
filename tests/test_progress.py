"""Long loops log a line with rate and time left; quick ones stay quiet."""

from recsys.progress import Progress, duration


def test_a_long_loop_logs_its_steps_rate_and_time_left(caplog):
    progress = Progress("ALS", 3, "iterations", every_s=0.0, after_s=0.0)
    with caplog.at_level("INFO", logger="recsys.progress"):
        for _ in range(3):
            progress.advance()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("ALS: 1/3 iterations, ") and "iterations/s, about " in lines[0]
    assert lines[0].endswith(" left") and lines[-1].startswith("ALS: 3/3 iterations, ") and lines[-1].endswith(", done")


def test_a_quick_loop_logs_nothing(caplog):
    progress = Progress("item2vec", 100, "epochs", every_s=0.0, after_s=3600.0)
    with caplog.at_level("INFO", logger="recsys.progress"):
        for _ in range(100):
            progress.advance()
    assert not caplog.records


def test_durations_read_in_the_unit_that_fits():
    assert (duration(42), duration(600), duration(10_800)) == ("42 s", "10.0 min", "3.0 h")
