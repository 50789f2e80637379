"""A row of the `code` dataset as `POST /verify` receives it: the hidden unit tests (LiveCodeBench format)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from gymhall import BaseVerifyRequest
from gymhall.envs.code.comparison import parse_json

__all__ = ["CodeVerifyRequest", "UnitTests", "VerifierMetadata"]


class UnitTests(BaseModel):
    """The hidden tests (LiveCodeBench format): parallel `inputs` and `outputs`, and `fn_name` for function tests."""

    inputs: list[str]
    outputs: list[str]
    fn_name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> UnitTests:
        if not self.inputs:
            raise ValueError("unit_tests has no tests; give at least one input and its output")
        if len(self.inputs) != len(self.outputs):
            raise ValueError(f"unit_tests has {len(self.inputs)} inputs but {len(self.outputs)} outputs")
        if self.fn_name is not None:
            if not self.fn_name.isidentifier():
                raise ValueError(f"fn_name {self.fn_name!r} is not a Python identifier")
            for index, output in enumerate(self.outputs):
                try:
                    parse_json(output)
                except ValueError as exc:
                    raise ValueError(
                        f"outputs[{index}] is not JSON ({exc}); function tests compare JSON values"
                    ) from None
        return self


class VerifierMetadata(BaseModel):
    """`verifier_metadata` of a row: the unit tests, and optionally a difficulty label reported with the reward."""

    model_config = ConfigDict(extra="allow")

    unit_tests: UnitTests
    difficulty: str | None = None


class CodeVerifyRequest(BaseVerifyRequest):
    """Body of `POST /verify`: the row (with `verifier_metadata`) and the model's response."""

    verifier_metadata: VerifierMetadata
