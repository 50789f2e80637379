"""`Environment`: the short way to write a resources server, with no FastAPI in sight.

    class Counter(Environment):
        domain = "games"

        async def seed_session(self, row: CounterRow) -> CounterState:
            return CounterState(value=row.initial_count)

        @tool
        async def increment(self, state: CounterState, by: int) -> dict[str, int]:
            \"\"\"Add `by` to the counter.\"\"\"
            state.value += by
            return {"value": state.value}

        async def verify(self, state: CounterState, body: BaseVerifyRequest) -> float:
            return float(body.response.output_text.strip() == str(state.value))

    app = build_app(Counter())

`seed_session` makes the per-session state from the dataset row; each tool and `verify` receive it.
`verify` returns a reward, or a mapping with `reward` and extra numeric fields (metrics).
"""

from __future__ import annotations

import copy
import inspect
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gymhall.config.settings import BaseResourcesServerConfig, Domain
from gymhall.exceptions import ForkUnsupported, JudgeError, SessionRequired
from gymhall.server.app import GymApp, create_app, parse_server_config, serve_app
from gymhall.server.route import RouteKind
from gymhall.server.sessions import Session
from gymhall.server.tools import ToolSpec, tool_specs
from gymhall.wire.contract import judge_failed
from gymhall.wire.schemas import BaseSeedSessionRequest, BaseVerifyRequest, BaseVerifyResponse

__all__ = ["Environment", "build_app"]


class Environment:
    """Base class of a short-style environment: `seed_session`, `@tool` methods and `verify`."""

    config_class: ClassVar[type[BaseResourcesServerConfig]] = BaseResourcesServerConfig
    domain: ClassVar[str] = "other"

    def __init__(self, config: BaseResourcesServerConfig | None = None) -> None:
        config = config if config is not None else self.config_class(name=type(self).__name__)
        if config.domain is None:
            config = config.model_copy(update={"domain": Domain(self.domain)})
        self.config = config

    async def seed_session(self, row: Any) -> Any:
        """The state of a new session, made from its dataset row; the default is None."""
        return None

    async def verify(self, state: Any, body: Any) -> float | Mapping[str, Any]:
        """Grade a finished rollout: a reward in [0, 1], or a mapping with `reward` and extra fields."""
        raise NotImplementedError(f"{type(self).__name__} must implement verify(self, state, body).")

    async def fork(self, state: Any) -> Any:
        """An independent copy of a session's `state`, for `POST /fork_session`: by default a deep copy.

        Override it when the state holds what `copy.deepcopy` cannot copy, or copies slowly (an open
        SQLite database: copy it with `sqlite3.Connection.backup`). Raise `ForkUnsupported` to refuse.
        """
        try:
            return copy.deepcopy(state)
        except (TypeError, copy.Error) as exc:
            raise ForkUnsupported(
                f"{type(self).__name__} cannot fork this session: its state cannot be deep-copied ({exc}). "
                f"Override {type(self).__name__}.fork(self, state) to copy it, or seed each rollout instead."
            ) from exc

    async def on_session_close(self, state: Any) -> None:
        """Called when a session is closed or expires: release what `state` holds (files, connections)."""

    async def on_shutdown(self) -> None:
        """Called once when the server stops (or its in-process client is closed): close judges, stop workers."""

    @classmethod
    def tools(cls) -> list[ToolSpec]:
        """The tools this environment declares with `@tool`."""
        return tool_specs(cls)

    @classmethod
    def run_webserver(cls, argv: Sequence[str] | None = None) -> None:
        """Serve this environment: `python env.py [--host H] [--port P] [--config FILE ...] [key=value ...]`."""
        script = sys.argv[0] if argv is None else cls.__name__
        config = parse_server_config(cls.config_class, argv, default_name=cls.__name__, script=script)
        serve_app(build_app(cls(config)), config)


def _model_parameter(method: Callable[..., Any], position: int, default: type[BaseModel]) -> type[BaseModel]:
    hints = typing.get_type_hints(method)
    parameters = list(inspect.signature(method).parameters.values())
    if len(parameters) > position:
        annotation = hints.get(parameters[position].name)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
    return default


def build_app(env: Environment) -> GymApp:
    """The HTTP app of `env`: the standard routes, `/seed_session`, one `POST /<tool>` per tool, `/verify`."""

    async def closed(session: Session) -> None:
        await env.on_session_close(session.state)

    app = create_app(env.config, title=type(env).__name__, on_session_close=closed, on_shutdown=env.on_shutdown)

    async def fork(parent: Session, child: Session) -> None:
        child.state = await env.fork(parent.state)

    app.forker = fork
    seed_model = _model_parameter(env.seed_session, 0, BaseSeedSessionRequest)
    verify_model = _model_parameter(env.verify, 1, BaseVerifyRequest)

    async def seed_session(body: BaseModel, session: Session) -> dict[str, Any]:
        session.state = await env.seed_session(body)
        return {}

    seed_session.__annotations__ = {"body": seed_model, "session": Session, "return": dict[str, Any]}

    needs_state = _needs_state(env)

    async def verify(body: BaseModel, session: Session) -> Any:
        if session is None and needs_state:
            raise SessionRequired(
                f"{type(env).__name__}.verify reads session state, so POST /verify needs the session's handle "
                "(cookie or x-gymhall-session header). A verify that can grade without it declares "
                "`state: MyState | None` and gets None."
            )
        try:
            result = await env.verify(session.state if session is not None else None, body)
        except JudgeError as error:  # NeMo Gym's judge failsafe: a 200 that collectors record as a failure
            result = judge_failed(str(error))
        fields = dict(result) if isinstance(result, Mapping) else {"reward": result}
        return _echo(body, fields)

    verify.__annotations__ = {"body": verify_model, "session": Session, "return": Any}

    app.add_gym_route("/seed_session", seed_session, kind=RouteKind.SEED, methods=["POST"], response_model=None)
    for spec in env.tools():
        app.add_gym_route(
            f"/{spec.name}",
            _tool_endpoint(env, spec),
            kind=RouteKind.TOOL,
            methods=["POST"],
            description=spec.description,
            response_model=None,
        )
    app.add_gym_route("/verify", verify, kind=RouteKind.VERIFY, methods=["POST"], response_model=None)
    return app


def _needs_state(env: Environment) -> bool:
    """Whether verify needs a session's state: unless its `state` parameter accepts None (stateless reverify)."""
    parameters = list(inspect.signature(env.verify).parameters)
    if not parameters:
        return False
    annotation = typing.get_type_hints(env.verify).get(parameters[0], Any)
    return not (annotation is type(None) or type(None) in typing.get_args(annotation) or annotation is Any)


def _tool_endpoint(env: Environment, spec: ToolSpec) -> Callable[..., Any]:
    function = spec.function.__get__(env)
    is_async = inspect.iscoroutinefunction(spec.function)

    async def endpoint(body: BaseModel, session: Session) -> Any:
        kwargs = spec.call_arguments(body)
        if spec.takes_state:
            kwargs["state"] = session.state
        if spec.session_parameter is not None:
            kwargs[spec.session_parameter] = session
        if is_async:
            return await function(**kwargs)
        return await run_in_threadpool(function, **kwargs)

    endpoint.__annotations__ = {"body": spec.args_model, "session": Session, "return": Any}
    endpoint.__doc__ = spec.description
    endpoint.__name__ = spec.name
    return endpoint


def _echo(body: BaseModel, fields: dict[str, Any]) -> BaseVerifyResponse | dict[str, Any]:
    if "reward" not in fields:
        raise ValueError("verify must return a reward, or a mapping with a 'reward' key.")
    reward = float(fields["reward"])
    if not 0.0 <= reward <= 1.0:
        raise ValueError(f"verify returned reward {reward}; rewards must be in [0, 1].")
    # NeMo Gym 0.7's outcome fields, always present; the environment's own fields may set them.
    outcome = {"mask_sample": False, "failure_kind": None, "failure_reason": None}
    return {**body.model_dump(mode="json", exclude_unset=True), **outcome, **fields, "reward": reward}
