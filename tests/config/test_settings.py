from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from gymhall.config.settings import (
    BaseResourcesServerConfig,
    BaseServerConfig,
    Domain,
    GymConfig,
    ServerInstance,
    ServerKind,
    ServerRef,
    did_you_mean,
    is_secret_key,
    redact,
)
from gymhall.exceptions import ConfigError


def make_instance(settings: dict[str, Any], **kwargs: Any) -> ServerInstance:
    kwargs.setdefault("name", "my_env")
    kwargs.setdefault("kind", ServerKind.RESOURCES_SERVERS)
    kwargs.setdefault("implementation", "my_impl")
    return ServerInstance(settings=settings, **kwargs)


def test_domain_has_exactly_the_eleven_values() -> None:
    assert [d.value for d in Domain] == [
        "math",
        "coding",
        "agent",
        "knowledge",
        "instruction_following",
        "long_context",
        "safety",
        "games",
        "translation",
        "e2e",
        "other",
    ]
    assert Domain("math") == "math"


def test_server_kinds_are_the_nemo_gym_keys() -> None:
    assert {k.value for k in ServerKind} == {
        "resources_servers",
        "responses_api_agents",
        "responses_api_models",
    }


def test_server_ref_validates_kind() -> None:
    ref = ServerRef.model_validate({"type": "responses_api_models", "name": "policy_model"})
    assert ref.type is ServerKind.RESPONSES_API_MODELS
    assert ref.name == "policy_model"
    with pytest.raises(ValidationError):
        ServerRef.model_validate({"type": "resource_servers", "name": "x"})


def test_base_server_config_defaults_and_extras() -> None:
    config = BaseServerConfig.model_validate({"timeout": 3})
    assert (config.name, config.host, config.port, config.entrypoint) == ("", "127.0.0.1", None, None)
    assert config.model_extra == {"timeout": 3}


@pytest.mark.parametrize("port", [0, 8000, 65535])
def test_port_in_range_is_accepted(port: int) -> None:
    assert BaseServerConfig(port=port).port == port


@pytest.mark.parametrize("port", [-1, 65536, 100_000])
def test_port_out_of_range_is_rejected(port: int) -> None:
    with pytest.raises(ValidationError, match="0..65535"):
        BaseServerConfig(port=port)


def test_resources_server_config_defaults() -> None:
    config = BaseResourcesServerConfig()
    assert config.domain is None
    assert config.verified is False
    assert config.session_ttl_seconds == 600.0
    assert config.max_sessions == 20_000  # fits a 24 GiB machine: gymhall.config.resource_limits
    assert config.reaper_interval_seconds == 5.0
    assert config.max_body_bytes == 16 * 1024 * 1024
    assert config.session_secret is None


def test_resources_server_config_parses_domain_and_hides_secret() -> None:
    config = BaseResourcesServerConfig.model_validate({"domain": "games", "session_secret": "hunter2"})
    assert config.domain is Domain.GAMES
    assert isinstance(config.session_secret, SecretStr)
    assert config.session_secret.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize("field", ["session_ttl_seconds", "max_sessions", "reaper_interval_seconds"])
def test_session_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError):
        BaseResourcesServerConfig.model_validate({field: 0})


def test_did_you_mean() -> None:
    assert did_you_mean("maht", [d.value for d in Domain]) == " Did you mean 'math'?"
    assert did_you_mean("zzzz", ["math", "coding"]) == ""
    assert did_you_mean("judge_base_url", ["policy_base_url"], cutoff=0.8) == ""


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("openai_api_key", True),
        ("API_KEY", True),
        ("session_secret", True),
        ("db_password", True),
        ("hf_token", True),
        ("accessToken", True),
        ("max_tokens", False),
        ("token_id_capture", False),
        ("openai_base_url", False),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_redact_is_a_deep_copy_with_secrets_hidden() -> None:
    values = {
        "policy_api_key": "sk-1",
        "nested": {"wandb_api_key": "k", "max_tokens": 5, "items": [{"password": "p"}]},
        "secretish": SecretStr("s"),
        "unset_token": None,
    }
    redacted = redact(values)
    assert redacted == {
        "policy_api_key": "***",
        "nested": {"wandb_api_key": "***", "max_tokens": 5, "items": [{"password": "***"}]},
        "secretish": "***",
        "unset_token": None,
    }
    assert values["policy_api_key"] == "sk-1"


def test_entrypoint_path_resolves_against_base_dir(tmp_path: Path) -> None:
    instance = make_instance({"entrypoint": "app.py"}, base_dir=tmp_path)
    assert instance.entrypoint_path() == tmp_path / "app.py"


def test_entrypoint_path_without_base_dir_uses_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert make_instance({"entrypoint": "sub/app.py"}).entrypoint_path() == tmp_path / "sub" / "app.py"


@pytest.mark.parametrize("entrypoint", ["my_pkg.envs:app", "my_pkg.app:build_app"])
def test_module_entrypoints_have_no_path(entrypoint: str) -> None:
    assert make_instance({"entrypoint": entrypoint}).entrypoint_path() is None


def test_entrypoint_path_absolute_and_missing(tmp_path: Path) -> None:
    absolute = tmp_path / "x" / "app.py"
    assert make_instance({"entrypoint": str(absolute)}, base_dir=Path("/elsewhere")).entrypoint_path() == absolute
    assert make_instance({}).entrypoint_path() is None


def test_config_model_adds_the_instance_name() -> None:
    class GradedConfig(BaseResourcesServerConfig):
        grading_mode: str = "binary"

    config = make_instance({"domain": "math", "grading_mode": "strict"}).config_model(GradedConfig)
    assert config.name == "my_env"
    assert config.domain is Domain.MATH
    assert config.grading_mode == "strict"


@pytest.mark.parametrize(
    ("typo", "fix"), [("sesion_ttl_seconds", "session_ttl_seconds"), ("max_sesions", "max_sessions")]
)
def test_config_model_refuses_an_unknown_key_with_file_and_suggestion(tmp_path: Path, typo: str, fix: str) -> None:
    source = tmp_path / "my_env.yaml"
    instance = make_instance({"domain": "math", typo: 5}, source=source)
    with pytest.raises(ConfigError) as info:
        instance.config_model(BaseResourcesServerConfig)
    message = str(info.value)
    assert str(source) in message
    assert f"my_env.resources_servers.my_impl.{typo}: unknown key. Did you mean {fix!r}?" in message
    assert "Fix:" in message


def test_config_model_accepts_keys_the_class_or_nemo_gym_declares() -> None:
    class JudgedConfig(BaseResourcesServerConfig):
        judge_model: str = ""

    settings = {
        "domain": "math",
        "judge_model": "openai:gpt-4.1-mini",
        "verified_url": "https://example.com",  # NeMo Gym's catalogue keys
        "value": "improves math",
        "num_workers": 2,
        "judge_model_server": {"type": "responses_api_models", "name": "judge"},
        "dataset": "data/x.jsonl",  # the registry's
    }
    config = make_instance(settings).config_model(JudgedConfig)
    assert config.judge_model == "openai:gpt-4.1-mini"
    assert config.model_extra is not None and config.model_extra["num_workers"] == 2
    with pytest.raises(ConfigError, match="judge_modle: unknown key. Did you mean 'judge_model'"):
        make_instance({"domain": "math", "judge_modle": "x"}).config_model(JudgedConfig)
    # Without the server's class (loading a config), nothing is known to be unknown.
    assert make_instance({"judge_modle": "x"}).config_model(BaseServerConfig, check_keys=False).model_extra


def test_config_model_error_names_instance_field_and_file(tmp_path: Path) -> None:
    source = tmp_path / "my_env.yaml"
    instance = make_instance({"port": "eighty", "max_sessions": -1}, source=source)
    with pytest.raises(ConfigError) as info:
        instance.config_model(BaseResourcesServerConfig)
    message = str(info.value)
    assert str(source) in message
    assert "'my_env'" in message
    assert "my_env.resources_servers.my_impl.port" in message
    assert "my_env.resources_servers.my_impl.max_sessions" in message
    assert "'eighty'" in message
    assert "Fix:" in message


def test_config_model_error_never_echoes_secrets() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        api_key: int

    instance = make_instance({"api_key": "sk-very-secret", "timout": 3})
    with pytest.raises(ConfigError) as info:
        instance.config_model(Strict)
    message = str(info.value)
    assert "sk-very-secret" not in message
    assert "my_env.resources_servers.my_impl.api_key" in message
    assert "my_env.resources_servers.my_impl.timout: unknown key" in message


def test_config_model_suggests_field_for_unknown_key() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        timeout: float = 1.0

    with pytest.raises(ConfigError, match="Did you mean 'timeout'"):
        make_instance({"timout": 3}).config_model(Strict)


def gym_config() -> GymConfig:
    return GymConfig.from_values(
        {
            "policy_api_key": "sk-1",
            "math_env": {"resources_servers": {"math_impl": {"entrypoint": "app.py", "domain": "math"}}},
            "agent": {
                "responses_api_agents": {
                    "simple_agent": {"resources_server": {"type": "resources_servers", "name": "math_env"}}
                }
            },
        }
    )


def test_gym_config_lookup_and_kinds() -> None:
    config = gym_config()
    assert list(config.servers) == ["math_env", "agent"]
    assert config.server("math_env").implementation == "math_impl"
    assert [s.name for s in config.of_kind("resources_servers")] == ["math_env"]
    assert [s.name for s in config.of_kind(ServerKind.RESPONSES_API_AGENTS)] == ["agent"]
    assert config.of_kind(ServerKind.RESPONSES_API_MODELS) == []


def test_gym_config_unknown_server_suggests_a_name() -> None:
    with pytest.raises(ConfigError, match=r"no server instance named 'math_evn'\. Did you mean 'math_env'\?"):
        gym_config().server("math_evn")


def test_gym_config_unknown_kind_suggests_a_kind() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'resources_servers'"):
        gym_config().of_kind("resource_servers")


def test_resources_server_by_name_else_the_only_one() -> None:
    config = gym_config()
    assert config.resources_server().name == "math_env"
    assert config.resources_server("agent").name == "agent"  # a name is taken as given, as --name is
    with pytest.raises(ConfigError, match="Did you mean 'math_env'"):
        config.resources_server("math_evn")


def test_resources_server_asks_for_a_name_when_there_are_several_or_none() -> None:
    block = {"resources_servers": {"impl": {"entrypoint": "app.py", "domain": "math"}}}
    several = GymConfig.from_values({"a": block, "b": block})
    with pytest.raises(ConfigError, match=r"defines 2 resources servers \(a, b\); choose one with --name\."):
        several.resources_server()
    assert several.resources_server("b").name == "b"
    with pytest.raises(ConfigError, match=r"defines 0 resources servers \(none\); choose one with --name\."):
        GymConfig.from_values({}).resources_server(None)


def test_gym_config_redacted() -> None:
    config = gym_config()
    assert config.redacted()["policy_api_key"] == "***"
    assert config.values["policy_api_key"] == "sk-1"


def test_from_values_fills_host_and_leaves_input_alone() -> None:
    values = {"m": {"responses_api_models": {"impl": {"entrypoint": "app.py"}}}}
    config = GymConfig.from_values(values)
    assert config.server("m").settings == {"entrypoint": "app.py", "host": "127.0.0.1"}
    assert config.server("m").source is None
    assert values == {"m": {"responses_api_models": {"impl": {"entrypoint": "app.py"}}}}
