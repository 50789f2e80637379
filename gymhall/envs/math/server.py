r"""`math`: math problems whose final answer is checked symbolically by math-verify, with an optional LLM judge.

Rows are NeMo Gym's math_with_judge rows (`question`, `expected_answer`): the assistant's text is
searched for its answer (`\boxed{}` first, then a plain expression) and compared with the expected
answer by math-verify, in a worker process that is killed when a check runs past
`verify_timeout_seconds`. Unlike NeMo Gym, an equal answer must also be in the simplified form the
row asks for (`answer_form`, see `forms.py`): the question restated is not an answer. With
`use_judge: true`, an answer math-verify does not accept is put to an LLM judge, asked in both
orders against position bias.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, field_validator, model_validator

from gymhall import (
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    ConfigError,
    Environment,
    Judge,
    JudgeError,
    JudgeSettings,
    judge_equivalence,
    judge_failed,
    last_user_text,
)
from gymhall.envs.math.forms import AnswerForm, infer_form
from gymhall.envs.math.verifier import VerifierPool, strip_delimiters

__all__ = ["Math", "MathConfig", "MathVerifyRequest"]


class MathConfig(BaseResourcesServerConfig, JudgeSettings):
    """Settings of the `math` environment."""

    verify_timeout_seconds: float = Field(default=10.0, gt=0)  # per answer; past it the reward is 0
    verify_workers: int = Field(default=4, gt=0)  # math-verify worker processes (checks at once)
    use_judge: bool = False  # ask the judge when math-verify does not accept an answer
    judge_swap_check: bool = True  # a judge's "equal" must survive the answers swapped
    # The answer must be in the form its row asks for (`answer_form`; a plain-number expected answer
    # implies `number`): `39 \times 33 - 512` is not an answer to "compute 39 x 33 - 512".
    # false: math-verify's equivalence alone, as NeMo Gym's math_with_judge grades.
    check_answer_form: bool = True

    @model_validator(mode="after")
    def _judge_needs_a_model(self) -> MathConfig:
        if self.use_judge and not self.judge_model:
            extra = self.model_extra or {}
            hint = " (NeMo Gym's judge_model_server is not supported yet)" if "judge_model_server" in extra else ""
            raise ValueError(
                f"use_judge is true but no judge_model is set{hint}; e.g. judge_model: openai:gpt-4.1-mini"
            )
        return self


class MathVerifyRequest(BaseVerifyRequest):
    """`POST /verify` of `math`: the row's `expected_answer` (LaTeX, delimiters optional) and `question`."""

    expected_answer: str
    question: str | None = None  # shown to the judge; defaults to the prompt's last user message
    answer_form: AnswerForm | None = None  # the simplified form the answer must take (gymhall.envs.math.forms)

    @field_validator("expected_answer", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Math(Environment):
    """Math word and symbolic problems; reward 1.0 when the final answer equals the expected one."""

    config_class = MathConfig
    domain = "math"
    config: MathConfig

    def __init__(self, config: MathConfig | None = None) -> None:
        super().__init__(config)
        self.judge: Judge | None = None
        if self.config.use_judge:
            try:
                self.judge = Judge.from_settings(self.config)
            except ValueError as exc:
                raise ConfigError(f"{self.config.name}: judge_model: {exc}") from None
        self._verifier: VerifierPool | None = None  # started on the first verify: tests never pay for it

    async def verify(self, state: None, body: MathVerifyRequest) -> dict[str, Any]:
        """Grade the assistant's text; judge it only if math-verify says no and the judge is on."""
        generated = body.response.output_text
        form = None
        if self.config.check_answer_form:
            form = body.answer_form or infer_form(strip_delimiters(body.expected_answer))
        check = await self.verifier.check(body.expected_answer, generated, form)
        fields: dict[str, Any] = {
            "reward": check.reward,
            "extracted_answer": check.extracted_answer,
            "library_reward": check.equal or 0.0,
            "form_error": check.form_error,
            "timed_out": check.timed_out,
            "worker_crashed": check.crashed,
            "judge_evaluations": None,
        }
        settled = check.reward >= 1.0 or check.timed_out or check.crashed or check.form_error is not None
        if self.judge is None or settled or not generated.strip():
            return fields
        try:
            result = await judge_equivalence(
                self.judge,
                question=body.question or last_user_text(body.responses_create_params),
                expected=body.expected_answer,
                generated=check.extracted_answer or generated,
                swap=self.config.judge_swap_check,
            )
        except JudgeError as error:
            return {**fields, **judge_failed(error)}
        return {**fields, "reward": float(result.equal), "judge_evaluations": result.evaluations()}

    @property
    def verifier(self) -> VerifierPool:
        """The math-verify worker pool, started on first use."""
        if self._verifier is None:
            self._verifier = VerifierPool(self.config.verify_workers, self.config.verify_timeout_seconds)
        return self._verifier

    def close(self) -> None:
        """Stop the worker processes (they also stop when the environment is collected or the process exits).

        The next check starts a new pool, so an environment shared by several clients keeps working.
        """
        verifier, self._verifier = self._verifier, None
        if verifier is not None:
            verifier.close()

    async def on_shutdown(self) -> None:
        """Stop the worker processes and close the judge's connections."""
        await asyncio.to_thread(self.close)  # joins the workers
        if self.judge is not None:
            await self.judge.aclose()
