"""Settings precedence (defaults → file → environment → per run) and option validation."""

from __future__ import annotations

import pytest

from clipmill.config import ClipOptions, effective_options, load_settings
from clipmill.errors import InputError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("CLIPMILL_") and name not in ("CLIPMILL_HOME",):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_apply_without_file_or_environment(clean_env):
    settings = load_settings()
    assert settings.options.crf == 20
    assert settings.storage.endpoint is None
    assert settings.storage.bucket == "clipmill"


def test_config_file_overrides_defaults_and_environment_overrides_file(clean_env, tmp_path):
    (tmp_path / "clipmill.toml").write_text(
        '[storage]\nendpoint = "files:9000"\nbucket = "from-file"\n[options]\ncrf = 25\npreset = "fast"\n'
    )
    settings = load_settings()
    assert (settings.storage.endpoint, settings.storage.bucket, settings.options.crf) == ("files:9000", "from-file", 25)

    clean_env.setenv("CLIPMILL_STORAGE__BUCKET", "from-env")
    clean_env.setenv("CLIPMILL_OPTIONS__CRF", "30")
    settings = load_settings()
    assert settings.storage.bucket == "from-env"
    assert settings.storage.endpoint == "files:9000"
    assert settings.options.crf == 30
    assert settings.options.preset == "fast"


def test_config_file_location_comes_from_clipmill_config(clean_env, tmp_path):
    custom = tmp_path / "elsewhere.toml"
    custom.write_text("task_retries = 7\n")
    clean_env.setenv("CLIPMILL_CONFIG", str(custom))
    assert load_settings().task_retries == 7


def test_per_run_options_override_installation_defaults():
    base = ClipOptions(crf=25, preset="fast")
    chosen = effective_options(base, {"crf": "18"})
    assert (chosen.crf, chosen.preset) == (18, "fast")


def test_unknown_option_is_named_with_the_known_ones():
    with pytest.raises(InputError) as error:
        effective_options(ClipOptions(), {"bogus": 1})
    message = str(error.value)
    assert "bogus: unknown option (got 1)" in message
    assert "known options: crf, preset" in message


@pytest.mark.parametrize(
    ("options", "needle"),
    [({"crf": 99}, "crf"), ({"preset": "warp"}, "preset"), ({"clip_name": "../etc/passwd"}, "clip_name")],
)
def test_bad_option_values_name_the_option_and_value(options, needle):
    with pytest.raises(InputError) as error:
        effective_options(ClipOptions(), options)
    assert needle in str(error.value)
    assert repr(next(iter(options.values()))) in str(error.value)


def test_bad_setting_in_environment_is_an_input_error(clean_env):
    clean_env.setenv("CLIPMILL_TASK_RETRIES", "many")
    with pytest.raises(InputError, match="task_retries"):
        load_settings()


@pytest.mark.parametrize("bucket", ["b6", "My_Bucket", "-clips", "clips-", "x" * 64])
def test_a_bucket_name_s3_refuses_is_refused_with_the_rules_before_any_job(clean_env, bucket):
    clean_env.setenv("CLIPMILL_STORAGE__BUCKET", bucket)
    with pytest.raises(InputError, match="storage.bucket.*not an S3 bucket name: 3-63 lowercase letters"):
        load_settings()


def test_a_bucket_name_s3_takes_is_kept(clean_env):
    clean_env.setenv("CLIPMILL_STORAGE__BUCKET", "clips.team-2")
    assert load_settings().storage.bucket == "clips.team-2"
