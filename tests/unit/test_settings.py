"""Settings: environment variables over `.env` over the TOML file named by
PUBLICPAY_CONFIG_FILE; a missing file is a clear error; secrets stay out of the repr."""

from pathlib import Path

import pytest

from publicpay import cli
from publicpay.settings import ConfigFileMissing, Settings

TOML = """
database_url = "postgresql+psycopg://publicpay@db.internal/publicpay"
region_code = "330106"
db_pool_size = 12
secret_key = "file-secret-0123456789abcdef0123456789abcdef"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "publicpay.toml"
    path.write_text(TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("PUBLICPAY_DATABASE_URL", "PUBLICPAY_REGION_CODE", "PUBLICPAY_DB_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUBLICPAY_CONFIG_FILE", str(path))
    return path


def test_the_config_file_sets_what_the_environment_does_not(config_file: Path) -> None:
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://publicpay@db.internal/publicpay"
    assert settings.region_code == "330106"
    assert settings.db_pool_size == 12


def test_an_environment_variable_wins_over_the_config_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLICPAY_REGION_CODE", "330110")
    assert Settings().region_code == "330110"


def test_the_secret_from_the_file_is_not_in_the_repr(config_file: Path) -> None:
    settings = Settings()
    assert settings.secret_key.startswith("file-secret")
    assert "file-secret" not in repr(settings)


def test_a_missing_config_file_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("PUBLICPAY_CONFIG_FILE", str(missing))
    with pytest.raises(ConfigFileMissing, match=r"nowhere\.toml"):
        Settings()


def test_the_cli_answers_a_bad_config_file_with_a_message_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBLICPAY_CONFIG_FILE", str(tmp_path / "nowhere.toml"))
    assert cli.main(["migrate"]) == 2
    assert "配置错误" in capsys.readouterr().err
