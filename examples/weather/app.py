"""The seed's Minimal Working Example: a single-tool weather resources server.

Unchanged from NeMo Gym's guide but for the import line. Run it with `python app.py --port 8080`.
"""

from fastapi import FastAPI
from pydantic import BaseModel

from gymhall import (
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    BaseVerifyResponse,
    SimpleResourcesServer,
)


class GetWeatherRequest(BaseModel):
    city: str


class GetWeatherResponse(BaseModel):
    city: str
    weather_description: str


class WeatherResourcesServer(SimpleResourcesServer):
    config: BaseResourcesServerConfig

    def setup_webserver(self) -> FastAPI:
        app = super().setup_webserver()
        app.post("/get_weather")(self.get_weather)
        return app

    async def get_weather(self, body: GetWeatherRequest) -> GetWeatherResponse:
        return GetWeatherResponse(
            city=body.city,
            weather_description=f"The weather in {body.city} is cold."
        )

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        # Custom verification logic here
        reward = 1.0  # Return 0.0-1.0 based on task success
        return BaseVerifyResponse(**body.model_dump(), reward=reward)


if __name__ == "__main__":
    WeatherResourcesServer.run_webserver()
