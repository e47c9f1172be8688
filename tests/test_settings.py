import tomllib

import pytest

from recsys.base_toml import render
from recsys.settings import DEFAULT_CONF_DIR, Settings, SettingsError, load_settings, parse_overrides


def test_base_toml_is_written_from_the_settings():
    """conf/base.toml's values and comments come from recsys/settings.py; a stale file names the command."""
    text = (DEFAULT_CONF_DIR / "base.toml").read_text()
    assert tomllib.loads(text) == Settings().model_dump(mode="json")
    assert text == render(), "conf/base.toml is stale: run .venv/bin/python -m recsys.base_toml"


def test_every_setting_is_described():
    """Each key's description is its comment in conf/base.toml: none may be left without one."""
    undescribed = [
        f"{section}.{key}"
        for section, field in Settings.model_fields.items()
        for key, info in field.annotation.model_fields.items()
        if not info.description
    ]
    assert undescribed == []


def test_layers_apply_lowest_first(tmp_path, monkeypatch):
    (tmp_path / "base.toml").write_text("[als]\nfactors = 16\niterations = 3\n[item2vec]\nepochs = 4\n")
    (tmp_path / "prod.toml").write_text("[als]\nfactors = 32\n")
    monkeypatch.setenv("RECSYS_CONF_DIR", str(tmp_path))
    monkeypatch.setenv("RECSYS__ALS__ITERATIONS", "9")
    monkeypatch.setenv("RECSYS__ITEM2VEC__EPOCHS", "5")
    settings = load_settings(["item2vec.epochs=6"], env="prod")
    assert settings.als.factors == 32  # env file over base
    assert settings.als.iterations == 9  # environment over files
    assert settings.item2vec.epochs == 6  # --set over environment
    assert settings.als.regularization == Settings().als.regularization  # untouched keys keep defaults


def test_set_values_are_validated():
    with pytest.raises(SettingsError, match="factors='abc': Input should be a valid integer"):
        load_settings(["als.factors=abc"])
    with pytest.raises(SettingsError, match="unknown setting als.no_such_key"):
        load_settings(["als.no_such_key=1"])


@pytest.mark.parametrize("bad", ["als.factors", "factors=3", "a.b.c=1", ".x=1"])
def test_malformed_overrides_are_refused(bad):
    with pytest.raises(ValueError, match="section.key=value"):
        parse_overrides([bad])


def test_missing_env_layer_is_an_error(monkeypatch):
    with pytest.raises(FileNotFoundError, match="nosuchenv.*RECSYS_CONF_DIR"):
        load_settings(env="nosuchenv")


def test_a_mistyped_setting_is_named_with_the_nearest_one(monkeypatch):
    with pytest.raises(SettingsError, match=r"^unknown setting als\.factor \(did you mean als\.factors\?\)$"):
        load_settings(["als.factor=3"])
    monkeypatch.setenv("RECSYS__ITEM2VEC__EPOCH", "3")  # the environment layer is checked the same way
    with pytest.raises(SettingsError, match=r"unknown setting item2vec\.epoch \(did you mean item2vec\.epochs\?\)"):
        load_settings()


def test_a_name_with_nothing_near_lists_what_exists():
    with pytest.raises(SettingsError, match=r"unknown setting zzz \(known: spark, input, "):
        load_settings(["zzz.a=1"])
