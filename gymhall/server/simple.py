"""`SimpleResourcesServer`: the seed documents' way of writing an environment, unchanged but for the import.

    class WeatherResourcesServer(SimpleResourcesServer):
        config: BaseResourcesServerConfig

        def setup_webserver(self) -> FastAPI:
            app = super().setup_webserver()
            app.post("/get_weather")(self.get_weather)
            return app

        async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse: ...

    if __name__ == "__main__":
        WeatherResourcesServer.run_webserver()

Routes a subclass adds with `app.post` are tools: they need a live session (from the cookie or
the `x-gymhall-session` header), and calls within one session run one at a time.
"""

from __future__ import annotations

import inspect
import sys
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from gymhall.config.settings import BaseResourcesServerConfig
from gymhall.server.app import GymApp, create_app, parse_server_config, serve_app
from gymhall.server.route import RouteKind
from gymhall.server.sessions import Session
from gymhall.wire.schemas import BaseSeedSessionRequest, BaseSeedSessionResponse, BaseVerifyRequest, BaseVerifyResponse

__all__ = ["SimpleResourcesServer"]


class SimpleResourcesServer(BaseModel):
    """Base class of a seed-style resources server: override `setup_webserver`, `seed_session` and `verify`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: BaseResourcesServerConfig = Field(default_factory=BaseResourcesServerConfig)

    def setup_webserver(self) -> FastAPI:
        """The app with the standard routes, `/seed_session` and `/verify`; subclasses add their tools."""
        app = create_app(self.config, title=type(self).__name__, on_session_close=self._session_closed)
        app.add_gym_route("/seed_session", self.seed_session, kind=RouteKind.SEED, methods=["POST"])
        app.add_gym_route("/verify", self.verify, kind=RouteKind.VERIFY, methods=["POST"])
        if type(self).fork_session is not SimpleResourcesServer.fork_session:  # opted in

            async def fork(parent: Session, child: Session) -> None:
                await self.fork_session(parent.id, child.id)

            app.forker = fork
        return app

    async def seed_session(self, body: BaseSeedSessionRequest) -> BaseSeedSessionResponse:
        """Prepare a new rollout's state from its dataset row; the default does nothing."""
        return BaseSeedSessionResponse()

    @abstractmethod
    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        """Grade a finished rollout: return the request echoed with a `reward` in [0, 1]."""

    async def fork_session(self, parent_id: str, child_id: str) -> None:
        """Copy the state kept under `parent_id` to `child_id` (`POST /fork_session`). Override it to opt in:
        without an override the server answers 501 and rollouts are seeded one by one."""
        raise NotImplementedError

    async def on_session_close(self, session_id: str) -> None:
        """Called when a session is closed or expires: free any state kept under `session_id`."""

    async def _session_closed(self, session: Session) -> None:
        await self.on_session_close(session.id)

    @classmethod
    def run_webserver(cls, argv: Sequence[str] | None = None) -> None:
        """Serve this server: `python app.py [--host H] [--port P] [--config FILE ...] [--name N] [key=value ...]`."""
        config_cls = _config_class(cls)
        script = sys.argv[0] if argv is None else cls.__name__
        config = parse_server_config(config_cls, argv, default_name=cls.__name__, script=script)
        server = cls(config=config)
        app = server.setup_webserver()
        if not isinstance(app, GymApp):
            raise TypeError(f"{cls.__name__}.setup_webserver() must return the app made by super().setup_webserver().")
        serve_app(app, config)


def _config_class(cls: type[SimpleResourcesServer]) -> type[BaseResourcesServerConfig]:
    annotation: Any = cls.model_fields["config"].annotation
    if inspect.isclass(annotation) and issubclass(annotation, BaseResourcesServerConfig):
        return annotation
    return BaseResourcesServerConfig
