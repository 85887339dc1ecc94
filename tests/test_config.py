import pytest

from toonemo_lib import config


def test_the_three_profiles_exist_and_grow_in_size():
    assert list(config.PROFILES) == ["smoke", "cpu", "gpu"]
    sizes = [config.get_profile(p).settings("01")["image_size"] for p in config.PROFILES]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_every_profile_defines_the_same_settings_for_each_notebook():
    keys = {p: {nb: set(s) for nb, s in config.PROFILES[p].notebooks.items()} for p in config.PROFILES}
    assert keys["smoke"] == keys["cpu"] == keys["gpu"]


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        config.get_profile("nosuch")


def test_settings_accept_a_notebook_name_and_reject_an_unknown_notebook():
    profile = config.get_profile("smoke")
    assert profile.settings("01_stylegan_theory") == profile.settings("01")
    with pytest.raises(KeyError, match="no settings for notebook '99'"):
        profile.settings("99")


def test_cache_dir_follows_toonemo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    assert config.cache_dir() == tmp_path / "cache"
    assert (tmp_path / "cache").is_dir()


def test_cache_dir_defaults_to_the_user_cache(monkeypatch):
    monkeypatch.delenv("TOONEMO_HOME", raising=False)
    assert config.cache_dir().name == "toonemo"


def test_emotions_are_in_fer2013_order():
    assert config.EMOTIONS == ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")


@pytest.mark.parametrize("name", list(config.PROFILES))
def test_the_commands_typed_settings_are_their_notebooks_values(name):
    import dataclasses

    profile = config.get_profile(name)
    for settings, notebook in ((profile.toonify, "04"), (profile.video, "06"), (profile.emoji, "07")):
        values = profile.settings(notebook)
        assert dataclasses.asdict(settings) == {key: values[key] for key in dataclasses.asdict(settings)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.projection_steps = 1
    assert isinstance(profile.video, config.ToonifySettings) and profile.video.every >= 1
    assert profile.emoji.framing in ("fer", "detect")
