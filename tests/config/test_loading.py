from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gymhall.config.loading import Override, load_config, parse_overrides
from gymhall.config.settings import BaseResourcesServerConfig, Domain, ServerKind
from gymhall.exceptions import ConfigError

TOOL_SERVER = """\
my_tool_resources_server:
  resources_servers:
    my_tool:
      entrypoint: app.py
      domain: agent
      host: 0.0.0.0
      port: 8080
"""

EXAMPLE_SINGLE_TOOL_CALL = """\
example_single_tool_call:
  resources_servers:
    example_single_tool_call: {entrypoint: app.py, domain: agent, verified: false, description: Basic single-step tool calling}
example_single_tool_call_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server: {type: resources_servers, name: example_single_tool_call}
      model_server: {type: responses_api_models, name: policy_model}
      datasets: [{name: example, type: example, jsonl_fpath: data/example.jsonl}]
policy_model:
  responses_api_models:
    openai_model:
      entrypoint: app.py
      openai_base_url: ${policy_base_url}
      openai_api_key: ${policy_api_key}
      openai_model: ${policy_model_name}
"""  # noqa: E501 - NeMo Gym's file, verbatim

ENV_YAML = """\
policy_base_url: https://api.openai.com/v1
policy_api_key: sk-test-123
policy_model_name: gpt-4.1-2025-04-14
"""


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def error_of(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)
    return str(info.value)


def server_yaml(name: str, **settings: Any) -> str:
    lines = [f"{name}:", "  resources_servers:", f"    {name}_impl:"]
    lines += [f"      {key}: {value}" for key, value in {"entrypoint": "app.py", "domain": "math", **settings}.items()]
    return "\n".join(lines) + "\n"


# --- NeMo Gym shapes ----------------------------------------------------------------------------


def test_nemo_gym_resources_server_config_loads_unchanged(cwd: Path) -> None:
    path = write(cwd / "resources_servers/my_tool/configs/my_tool.yaml", TOOL_SERVER)
    config = load_config([path])
    server = config.server("my_tool_resources_server")
    assert server.kind is ServerKind.RESOURCES_SERVERS
    assert server.implementation == "my_tool"
    assert server.settings == {"entrypoint": "app.py", "domain": "agent", "host": "0.0.0.0", "port": 8080}
    assert server.source == path
    assert server.entrypoint_path() == cwd / "resources_servers/my_tool/app.py"
    assert server.config_model(BaseResourcesServerConfig).domain is Domain.AGENT
    assert config.sources == [path]


def test_nemo_gym_example_with_env_yaml(cwd: Path) -> None:
    write(cwd / "env.yaml", ENV_YAML)
    path = write(cwd / "resources_servers/example_single_tool_call/configs/example.yaml", EXAMPLE_SINGLE_TOOL_CALL)
    config = load_config([path])
    assert list(config.servers) == [
        "example_single_tool_call",
        "example_single_tool_call_simple_agent",
        "policy_model",
    ]
    model = config.server("policy_model").settings
    assert model["openai_base_url"] == "https://api.openai.com/v1"
    assert model["openai_api_key"] == "sk-test-123"
    assert model["openai_model"] == "gpt-4.1-2025-04-14"
    resources = config.server("example_single_tool_call").settings
    assert resources["description"] == "Basic single-step tool calling"
    assert [s.name for s in config.of_kind("responses_api_agents")] == ["example_single_tool_call_simple_agent"]
    assert config.sources == [path, cwd / "env.yaml"]
    assert config.values["policy_model_name"] == "gpt-4.1-2025-04-14"
    redacted = config.redacted()
    assert redacted["policy_api_key"] == "***"
    assert redacted["policy_model"]["responses_api_models"]["openai_model"]["openai_api_key"] == "***"
    assert "sk-test-123" not in repr(redacted)


# --- precedence -------------------------------------------------------------------------------

LEVELS = ["base", "included", "file", "later_file", "env", "override"]


@pytest.mark.parametrize("highest", range(len(LEVELS)))
def test_precedence_highest_level_wins(cwd: Path, highest: int) -> None:
    present = LEVELS[: highest + 1]

    def body(level: str) -> str:
        return f"winner: {level}\nlevel_{level}: true\n" if level in present else f"level_{level}: true\n"

    write(cwd / "inc/included.yaml", body("included"))
    write(cwd / "file.yaml", "config_paths: [inc/included.yaml]\n" + body("file"))
    write(cwd / "later_file.yaml", body("later_file"))
    write(cwd / "env.yaml", body("env"))
    overrides = ["winner=override"] if "override" in present else []
    base = {"winner": "base"}
    config = load_config(["file.yaml", "later_file.yaml"], overrides, base=base)
    assert config.values["winner"] == LEVELS[highest]
    assert all(config.values[f"level_{level}"] for level in LEVELS[1:-1])


def test_mappings_merge_and_lists_replace(cwd: Path) -> None:
    write(cwd / "a.yaml", "block: {x: 1, y: 2, items: [1, 2, 3]}\n")
    write(cwd / "b.yaml", "block: {y: 20, items: [9]}\n")
    assert load_config(["a.yaml", "b.yaml"]).values["block"] == {"x": 1, "y": 20, "items": [9]}


def test_base_is_lowest_and_untouched(cwd: Path) -> None:
    base = {"block": {"x": 1, "y": 1}}
    write(cwd / "a.yaml", "block: {y: 2}\n")
    assert load_config(["a.yaml"], base=base).values["block"] == {"x": 1, "y": 2}
    assert base == {"block": {"x": 1, "y": 1}}


# --- includes -------------------------------------------------------------------------------


def test_recursive_includes_resolve_against_including_file(cwd: Path) -> None:
    write(cwd / "deep/c.yaml", "order: [c]\nc: 1\n")
    write(cwd / "deep/b.yaml", "config_paths: [c.yaml]\norder: [b]\nb: 1\n")
    write(cwd / "top/a.yaml", "config_paths: [../deep/b.yaml]\na: 1\n")
    config = load_config(["top/a.yaml"])
    assert (config.values["a"], config.values["b"], config.values["c"]) == (1, 1, 1)
    assert config.values["order"] == ["b"]
    assert config.sources == [cwd / "deep/c.yaml", cwd / "deep/b.yaml", cwd / "top/a.yaml"]
    assert config.values["config_paths"] == [str(cwd / "top/a.yaml")]


def test_include_falls_back_to_cwd(cwd: Path) -> None:
    write(cwd / "shared/common.yaml", "common: true\n")
    write(cwd / "configs/a.yaml", "config_paths: [shared/common.yaml]\n")
    assert load_config(["configs/a.yaml"]).values["common"] is True


def test_file_included_twice_is_loaded_once(cwd: Path) -> None:
    write(cwd / "common.yaml", "count: 1\n")
    write(cwd / "a.yaml", "config_paths: [common.yaml]\na: 1\n")
    write(cwd / "b.yaml", "config_paths: [common.yaml]\ncount: 2\n")
    config = load_config(["a.yaml", "b.yaml", "common.yaml"])
    assert config.sources == [cwd / "common.yaml", cwd / "a.yaml", cwd / "b.yaml"]
    assert config.values["count"] == 2


def test_include_cycle_is_an_error(cwd: Path) -> None:
    write(cwd / "a.yaml", "config_paths: [b.yaml]\n")
    write(cwd / "b.yaml", "config_paths: [a.yaml]\n")
    message = error_of(["a.yaml"])
    assert "include cycle" in message
    assert f"{cwd / 'a.yaml'} -> {cwd / 'b.yaml'} -> {cwd / 'a.yaml'}" in message
    assert "config_paths" in message


def test_missing_file_names_the_search_locations(cwd: Path) -> None:
    write(cwd / "configs/math.yaml", "x: 1\n")
    write(cwd / "configs/top.yaml", "config_paths: [maths.yaml]\n")
    message = error_of(["configs/top.yaml"])
    assert "'maths.yaml' not found" in message
    assert str(cwd / "configs/maths.yaml") in message
    assert str(cwd / "maths.yaml") in message
    assert "Did you mean 'math.yaml'?" in message
    assert str(cwd / "configs/top.yaml") in message


def test_missing_positional_file(cwd: Path) -> None:
    message = error_of(["nope.yaml"])
    assert "'nope.yaml' not found" in message
    assert str(cwd / "nope.yaml") in message


def test_config_paths_override_loads_after_positional_paths(cwd: Path) -> None:
    write(cwd / "a.yaml", "who: a\na: 1\n")
    write(cwd / "b.yaml", "who: b\nb: 1\n")
    write(cwd / "main.yaml", "who: main\n")
    config = load_config(["main.yaml"], ["+config_paths=[a.yaml,b.yaml]"])
    assert config.values["who"] == "b"
    assert config.sources == [cwd / "main.yaml", cwd / "a.yaml", cwd / "b.yaml"]
    assert config.values["config_paths"] == [str(cwd / p) for p in ("main.yaml", "a.yaml", "b.yaml")]


def test_config_paths_from_env_yaml_and_replaced_by_override(cwd: Path) -> None:
    write(cwd / "a.yaml", "who: a\n")
    write(cwd / "b.yaml", "who: b\n")
    write(cwd / "env.yaml", "config_paths: [a.yaml]\n")
    assert load_config().values["who"] == "a"
    config = load_config(overrides=["++config_paths=[b.yaml]"])
    assert config.values["who"] == "b"
    assert cwd / "a.yaml" not in config.sources


def test_config_paths_interpolated_from_env_yaml(cwd: Path) -> None:
    write(cwd / "a.yaml", "a: 1\n")
    write(cwd / "b.yaml", "b: 1\n")
    write(cwd / "env.yaml", "my_config_paths: [a.yaml, b.yaml]\n")
    config = load_config(overrides=["+config_paths=${my_config_paths}"])
    assert (config.values["a"], config.values["b"]) == (1, 1)


# --- env.yaml ---------------------------------------------------------------------------------


def test_env_file_none_disables_env_yaml(cwd: Path) -> None:
    write(cwd / "env.yaml", "x: from_env\n")
    assert load_config().values["x"] == "from_env"
    assert "x" not in load_config(env_file=None).values


def test_explicit_env_file_and_dotenv_path(cwd: Path) -> None:
    write(cwd / "env.yaml", "x: default\n")
    write(cwd / "env.dev.yaml", "x: dev\n")
    assert load_config(env_file="env.dev.yaml").values["x"] == "dev"
    assert load_config(overrides=["+dotenv_path=env.dev.yaml"]).values["x"] == "dev"


def test_missing_explicit_env_file(cwd: Path) -> None:
    message = error_of(env_file="env.prod.yaml")
    assert "env.prod.yaml" in message
    assert str(cwd / "env.prod.yaml") in message
    assert "env_file=None" in message


# --- interpolation ----------------------------------------------------------------------------


def test_oc_env_interpolation(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GYMHALL_TEST_HOST", "10.0.0.5")
    monkeypatch.delenv("GYMHALL_TEST_PORT", raising=False)
    write(
        cwd / "a.yaml",
        server_yaml("env1", host="${oc.env:GYMHALL_TEST_HOST}", port="${oc.env:GYMHALL_TEST_PORT,9000}"),
    )
    server = load_config(["a.yaml"]).server("env1")
    assert server.settings["host"] == "10.0.0.5"
    assert server.settings["port"] == 9000


def test_undefined_interpolation_names_key_variable_and_fix(cwd: Path) -> None:
    path = write(cwd / "model.yaml", EXAMPLE_SINGLE_TOOL_CALL)
    message = error_of([path])
    assert "policy_model.responses_api_models.openai_model.openai_" in message
    assert "'policy_" in message
    assert "env.yaml" in message
    assert str(path) in message


def test_unset_environment_variable(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GYMHALL_NOT_SET", raising=False)
    path = write(cwd / "a.yaml", "token_path: ${oc.env:GYMHALL_NOT_SET}\n")
    message = error_of([path])
    assert "environment variable 'GYMHALL_NOT_SET' is not set" in message
    assert "key 'token_path'" in message
    assert str(path) in message


def test_missing_values_are_reported_together(cwd: Path) -> None:
    path = write(cwd / "a.yaml", "policy_api_key: ???\nblock:\n  judge_url: ???\n  ok: 1\n")
    message = error_of([path])
    assert "2 required value(s) are missing" in message
    assert "policy_api_key=<value>" in message
    assert "block.judge_url=<value>" in message
    assert str(path) in message
    assert load_config([path], ["policy_api_key=k", "block.judge_url=u"]).values["block"]["judge_url"] == "u"


# --- overrides --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "+", "++"])
def test_override_spellings_all_set(cwd: Path, prefix: str) -> None:
    write(cwd / "a.yaml", server_yaml("env1"))
    config = load_config(["a.yaml"], [f"{prefix}env1.resources_servers.env1_impl.port=8000", f"{prefix}new_key=v"])
    assert config.server("env1").settings["port"] == 8000
    assert config.values["new_key"] == "v"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x=8000", 8000),
        ("x=1.5", 1.5),
        ("x=true", True),
        ("x=[a.yaml,b.yaml]", ["a.yaml", "b.yaml"]),
        ("x={a: 1}", {"a": 1}),
        ("x='8000'", "8000"),
        ('x="true"', "true"),
        ("x=null", None),
        ("x=", ""),
        ("x=note: hi", "note: hi"),
        ("x=#fff", "#fff"),
        ("x=a=b", "a=b"),
        ("x=${policy_base_url}/v1", "${policy_base_url}/v1"),
    ],
)
def test_override_values_are_yaml(text: str, expected: object) -> None:
    (override,) = parse_overrides([text])
    assert override.value == expected


def test_parse_overrides_shapes() -> None:
    assert parse_overrides(["++a.b.c=1", "~d"]) == [
        Override("++a.b.c=1", ("a", "b", "c"), 1, delete=False, force=True, has_value=True),
        Override("~d", ("d",), None, delete=True, force=False, has_value=False),
    ]


@pytest.mark.parametrize("text", ["port", "=5", "+++x=1", "~+x", "a..b=1", "--port=5"])
def test_malformed_override(text: str) -> None:
    with pytest.raises(ConfigError, match="malformed override") as info:
        parse_overrides([text])
    assert "key=value" in str(info.value)


def test_bad_flow_collection_override() -> None:
    with pytest.raises(ConfigError, match="not a valid YAML list"):
        parse_overrides(["x=[a, b"])


def test_override_nested_creates_mappings(cwd: Path) -> None:
    config = load_config(overrides=["a.b.c=1", "a.b.d=2"])
    assert config.values["a"] == {"b": {"c": 1, "d": 2}}


def test_override_delete(cwd: Path) -> None:
    write(cwd / "a.yaml", server_yaml("env1", port=8000) + "extra: {x: 1, y: 2}\n")
    config = load_config(["a.yaml"], ["~env1.resources_servers.env1_impl.port", "~extra.x", "~extra.y=2"])
    assert "port" not in config.server("env1").settings
    assert config.values["extra"] == {}


def test_override_delete_missing_key_suggests(cwd: Path) -> None:
    write(cwd / "a.yaml", "policy_base_url: u\n")
    message = error_of(["a.yaml"], ["~policy_base_ur"])
    assert "Did you mean 'policy_base_url'?" in message
    assert "key 'policy_base_ur'" in message


def test_override_delete_with_value_mismatch(cwd: Path) -> None:
    write(cwd / "a.yaml", "x: 1\n")
    assert "deletes only if the value matches" in error_of(["a.yaml"], ["~x=2"])


def test_override_typo_is_caught_unless_forced(cwd: Path) -> None:
    write(cwd / "env.yaml", ENV_YAML)
    message = error_of(overrides=["+policy_modle_name=gpt-5"])
    assert "Did you mean 'policy_model_name'?" in message
    assert "++policy_modle_name=" in message
    assert load_config(overrides=["++policy_modle_name=x"]).values["policy_modle_name"] == "x"
    assert load_config(overrides=["+judge_base_url=x"]).values["judge_base_url"] == "x"


def test_override_through_a_scalar(cwd: Path) -> None:
    write(cwd / "a.yaml", "x: 1\n")
    message = error_of(["a.yaml"], ["x.y=2"])
    assert "'x'" in message
    assert "not a mapping" in message


# --- server detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "fragments"),
    [
        (
            "my_env:\n  resource_servers:\n    impl: {entrypoint: app.py}\n",
            "my_env.resource_servers",
            ["Did you mean 'resources_servers'?"],
        ),
        (
            "my_env:\n  resources_server:\n    impl: {entrypoint: app.py}\n",
            "my_env.resources_server",
            ["Did you mean 'resources_servers'?"],
        ),
        (
            "my_env:\n  resources_servers: {impl: {domain: math}}\n  responses_api_agents: {impl: {}}\n",
            "my_env",
            ["2 server types", "one per server type"],
        ),
        (
            "my_env:\n  resources_servers: {impl: {domain: math}}\n  entrypoint: app.py\n",
            "my_env.entrypoint",
            ["unexpected key(s) 'entrypoint'", "my_env.resources_servers.<implementation>"],
        ),
        (
            "my_env:\n  resources_servers:\n    a: {domain: math}\n    b: {domain: math}\n",
            "my_env.resources_servers",
            ["exactly one implementation", "2: a, b"],
        ),
        ("my_env:\n  resources_servers: {}\n", "my_env.resources_servers", ["exactly one implementation"]),
        (
            "my_env:\n  resources_servers:\n    impl: app.py\n",
            "my_env.resources_servers.impl",
            ["must be a mapping of settings"],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {entrypoint: app.py}\n",
            "my_env.resources_servers.impl.domain",
            ["has no 'domain'", ", ".join(d.value for d in Domain)],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {entrypoint: app.py, domain: maths}\n",
            "my_env.resources_servers.impl.domain",
            ["'maths' is not valid", "Did you mean 'math'?", "instruction_following"],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {domain: math}\n"
            "agent:\n  responses_api_agents:\n    simple:\n"
            "      resources_server: {type: resources_servers, name: my_evn}\n",
            "agent.responses_api_agents.simple.resources_server.name",
            ["'my_evn', which is not defined", "Did you mean 'my_env'?"],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {domain: math}\n"
            "agent:\n  responses_api_agents:\n    simple:\n"
            "      model_server: {type: responses_api_models, name: my_env}\n",
            "agent.responses_api_agents.simple.model_server.name",
            ["'my_env' is a resources_servers instance", "none loaded"],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {domain: math}\n"
            "agent:\n  responses_api_agents:\n    simple:\n"
            "      judges: [{type: resource_servers, name: my_env}]\n",
            "agent.responses_api_agents.simple.judges.0.type",
            ["Did you mean 'resources_servers'?"],
        ),
        (
            "my_env:\n  resources_servers:\n    impl: {domain: math, port: 70000}\n",
            "my_env.resources_servers.impl.port",
            ["0..65535"],
        ),
    ],
)
def test_server_errors_name_file_key_and_fix(cwd: Path, text: str, key: str, fragments: list[str]) -> None:
    path = write(cwd / "bad.yaml", text)
    message = error_of([path])
    assert str(path) in message
    assert key in message
    assert "Fix:" in message
    for fragment in fragments:
        assert fragment in message


def test_empty_file_is_an_empty_config(cwd: Path) -> None:
    write(cwd / "empty.yaml", "")
    assert load_config(["empty.yaml"]).servers == {}


def test_non_server_keys_are_kept_as_values(cwd: Path) -> None:
    text = server_yaml("env1") + "wandb: {project: p}\nhead_server: {host: 0.0.0.0, port: 11000}\nlimit: 3\n"
    config = load_config([write(cwd / "a.yaml", text)])
    assert list(config.servers) == ["env1"]
    assert config.values["wandb"] == {"project": "p"}
    assert config.values["head_server"] == {"host": "0.0.0.0", "port": 11000}
    assert config.values["limit"] == 3


def test_datasets_are_not_server_refs(cwd: Path) -> None:
    text = "agent:\n  responses_api_agents:\n    simple:\n      datasets: [{name: train, type: train}]\n"
    assert load_config([write(cwd / "a.yaml", text)]).server("agent")


def test_default_host(cwd: Path) -> None:
    write(cwd / "a.yaml", server_yaml("env1") + server_yaml("env2", host="10.1.1.1"))
    config = load_config(["a.yaml"])
    assert config.server("env1").settings["host"] == "127.0.0.1"
    config = load_config(["a.yaml"], ["+default_host=0.0.0.0"])
    assert config.server("env1").settings["host"] == "0.0.0.0"
    assert config.server("env2").settings["host"] == "10.1.1.1"
    assert config.values["env1"]["resources_servers"]["env1_impl"]["host"] == "0.0.0.0"


def test_entrypoint_follows_the_file_that_set_it(cwd: Path) -> None:
    write(cwd / "resources_servers/math/configs/math.yaml", server_yaml("math"))
    write(
        cwd / "benchmarks/aime/config.yaml",
        "config_paths: [../../resources_servers/math/configs/math.yaml]\n"
        "math:\n  resources_servers:\n    math_impl: {port: 9100}\n",
    )
    write(
        cwd / "local/here.yaml",
        "config_paths: [../resources_servers/math/configs/math.yaml]\n" + server_yaml("x"),
    )
    config = load_config(["benchmarks/aime/config.yaml", "local/here.yaml"])
    math = config.server("math")
    assert math.settings["port"] == 9100
    assert math.source == cwd / "resources_servers/math/configs/math.yaml"
    assert math.entrypoint_path() == cwd / "resources_servers/math/app.py"
    assert config.server("x").entrypoint_path() == cwd / "local/app.py"


def test_entrypoint_from_command_line_resolves_against_cwd(cwd: Path) -> None:
    write(cwd / "sub/a.yaml", server_yaml("env1"))
    config = load_config(["sub/a.yaml"], ["env1.resources_servers.env1_impl.entrypoint=other.py"])
    assert config.server("env1").entrypoint_path() == cwd / "other.py"


def test_invalid_setting_is_reported_with_file_and_key(cwd: Path) -> None:
    path = write(cwd / "a.yaml", server_yaml("env1", max_sessions="lots"))
    message = error_of([path])
    assert str(path) in message
    assert "env1.resources_servers.env1_impl.max_sessions" in message


def test_nothing_to_load_is_an_empty_config(cwd: Path) -> None:
    config = load_config()
    assert (config.servers, config.values, config.sources) == ({}, {}, [])


def test_a_single_path_string_is_one_file(cwd: Path) -> None:
    write(cwd / "a.yaml", server_yaml("env1"))
    assert list(load_config("a.yaml", "env1.resources_servers.env1_impl.port=1").servers) == ["env1"]


def test_a_misspelt_entrypoint_is_named_with_the_fix(cwd: Path) -> None:
    path = write(cwd / "counter.yaml", server_yaml("counter").replace("entrypoint:", "entrypont:"))
    message = error_of([path])
    assert f"{path}, key 'counter.resources_servers.counter_impl.entrypont'" in message
    assert "unknown key 'entrypont' and no 'entrypoint'. Did you mean 'entrypoint'?" in message
    assert "Fix: rename it to entrypoint" in message
