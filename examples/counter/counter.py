"""The README's counter: a short-style environment with one tool. Run `python counter.py --port 8000`."""

from dataclasses import dataclass

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool


class CounterRow(BaseSeedSessionRequest):
    initial_count: int = 0


@dataclass
class CounterState:
    value: int


class Counter(Environment):
    domain = "games"

    async def seed_session(self, row: CounterRow) -> CounterState:
        return CounterState(row.initial_count)

    @tool
    async def increment(self, state: CounterState, by: int) -> dict[str, int]:
        """Add `by` to the counter and return its new value."""
        state.value += by
        return {"value": state.value}

    async def verify(self, state: CounterState, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))


if __name__ == "__main__":
    Counter.run_webserver()
