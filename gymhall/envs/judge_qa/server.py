"""`judge_qa`: short free-form answers, graded by a rule check first and an LLM judge when it cannot decide.

An answer that matches the expected one after normalization (case, accents, articles, punctuation,
a `\\boxed{}` or "Answer:" wrapper) scores 1.0, and an empty one or one that only restates the
question 0.0, neither calling the judge; anything else is put to the judge
configured by `judge_model`. Without a judge the server refuses to start unless `allow_no_judge:
true`; then the rule check alone grades, and an answer that is not an exact match scores 0.0 (an
exact-match score: a lower bound, never inflated). Rows are NeMo Gym's
equivalence_llm_judge rows (`question`, `expected_answer`), and its prompt template files
(`{question}`, `{expected_answer}`, `{generated_answer}`) and verdict labels can be reused.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from gymhall import (
    JUDGE_EQUAL,
    JUDGE_EQUIVALENCE_PROMPT,
    JUDGE_EQUIVALENCE_SYSTEM,
    JUDGE_NOT_EQUAL,
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    ConfigError,
    Environment,
    Judge,
    JudgeError,
    JudgeSettings,
    Response,
    judge_equivalence,
    judge_failed,
    last_user_text,
)

__all__ = ["JudgeQA", "JudgeQAConfig", "JudgeQAVerifyRequest", "extract_answer", "normalize_answer"]

ENV_DIR = Path(__file__).resolve().parent  # relative paths in the settings resolve against it

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Markdown a reply may wrap the prefix in (`**Answer:** Mars`, a fence) is skipped with it.
_PREFIX = re.compile(r"^[\s*_`>#]*(final answer|answer)[\s*_`]*[:\-]\s*", re.IGNORECASE)
# Punctuation, except a point or comma between digits (3.14, 3,000), a point or minus before one (.9, -2).
_PUNCTUATION = re.compile(r"(?!(?<=\d)[.,](?=\d))(?![.-](?=\d))[^\w\s]")
_BOXED = "\\boxed{"


class JudgeQAConfig(BaseResourcesServerConfig, JudgeSettings):
    """Settings of `judge_qa`: the judge (`judge_*` settings) and its prompt."""

    # A prompt template file with {question}, {expected_answer} and {generated_answer}; None: the built-in one.
    judge_prompt_template_fpath: str | None = None
    judge_system_message: str | None = JUDGE_EQUIVALENCE_SYSTEM  # None or "" sends no system message
    judge_equal_label: str = JUDGE_EQUAL
    judge_not_equal_label: str = JUDGE_NOT_EQUAL
    # Without a judge the server refuses to start; true lets it grade by the rule check alone, where an
    # answer that is not an exact match scores 0.0 instead of being judged.
    allow_no_judge: bool = False


class JudgeQAVerifyRequest(BaseVerifyRequest):
    """`POST /verify` of `judge_qa`: the row's `expected_answer` and, for the judge, its `question`."""

    expected_answer: str
    question: str | None = None  # defaults to the prompt's last user message


def normalize_answer(text: str) -> str:
    """`text` reduced for an exact-match comparison: lower case, no accents, articles or punctuation."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = _PUNCTUATION.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def extract_answer(text: str) -> str:
    """The answer in a reply: the last `\\boxed{...}`'s content if there is one, without an "Answer:" prefix."""
    start = text.rfind(_BOXED)
    if start >= 0:
        depth, begin = 1, start + len(_BOXED)
        for index in range(begin, len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                text = text[begin:index]
                break
    return _PREFIX.sub("", text.strip()).strip()


def _echoes(answer: str, question: str, prompt: str, expected: str) -> bool:
    """Whether `answer` restates the question and says nothing else: every word of it is a word of the
    question or the prompt, and the expected answer (all normalized) is not in it."""
    said, asked = normalize_answer(answer), normalize_answer(question)
    known = set(asked.split()) | set(normalize_answer(prompt).split())
    return (
        bool(asked)
        and f" {asked} " in f" {said} "
        and f" {expected} " not in f" {said} "
        and set(said.split()) <= known
    )


def _last_assistant_text(response: Response) -> str:
    for item in reversed(response.output):
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "assistant":
            parts = getattr(item, "content", None) or []
            return "\n".join(str(part.text) for part in parts if getattr(part, "type", None) == "output_text")
    return ""


class JudgeQA(Environment):
    """Short-answer questions; reward 1.0 for an answer equivalent to the expected one."""

    config_class = JudgeQAConfig
    domain = "knowledge"
    config: JudgeQAConfig

    def __init__(self, config: JudgeQAConfig | None = None) -> None:
        super().__init__(config)
        self.template = self._template()
        self.judge: Judge | None = None
        if not self.config.judge_model and not self.config.allow_no_judge:
            name = self.config.name
            keys = f" (keys {name}.resources_servers.judge_qa.*)" if name.endswith("_resources_server") else ""
            raise ConfigError(
                f"{name or 'judge_qa'}: no judge is configured (judge_model is null), and answers that are not "
                f"an exact match need one.\n  Fix: set judge_model{keys} to a judge, e.g. openai:gpt-4.1-mini "
                "(key from OPENAI_API_KEY) or http://localhost:8000/v1#Qwen/Qwen3-8B; or set allow_no_judge=true "
                "to grade by exact match alone (answers that are not an exact match then score 0.0)."
            )
        if self.config.judge_model:
            labels = (self.config.judge_equal_label, self.config.judge_not_equal_label)
            try:
                self.judge = Judge.from_settings(self.config, labels=labels)
            except ValueError as exc:
                raise ConfigError(f"{self.config.name}: judge settings: {exc}") from None

    async def verify(self, state: None, body: JudgeQAVerifyRequest) -> dict[str, Any]:
        """Exact match after normalization scores 1.0, empty scores 0.0; the judge grades the rest (0.0 without one)."""
        reply = _last_assistant_text(body.response)
        answer = extract_answer(reply)
        expected = normalize_answer(extract_answer(body.expected_answer))
        fields: dict[str, Any] = {
            "extracted_answer": answer,
            "exact_match": False,
            "judge_evaluations": None,
            "graded_by": "rule",
        }
        if not answer:
            return {**fields, "reward": 0.0}
        if expected and normalize_answer(answer) == expected:
            return {**fields, "reward": 1.0, "exact_match": True}
        prompt = last_user_text(body.responses_create_params)
        question = body.question or prompt
        if self.judge is None or _echoes(answer, question, prompt, expected):
            # Without a judge (allow_no_judge) exact match alone grades; an echo of the question is
            # refused here, so a lenient judge cannot pay for it.
            return {**fields, "reward": 0.0}
        fields["graded_by"] = "judge"
        try:
            result = await judge_equivalence(
                self.judge,
                question=question,
                expected=body.expected_answer,
                generated=reply,
                swap=self.config.judge_swap_check,
                system=self.config.judge_system_message or None,
                template=self.template,
                equal_label=self.config.judge_equal_label,
            )
        except JudgeError as error:
            return {**fields, **judge_failed(error)}
        return {**fields, "reward": float(result.equal), "judge_evaluations": result.evaluations()}

    async def on_shutdown(self) -> None:
        """Close the judge's connections."""
        if self.judge is not None:
            await self.judge.aclose()

    def _template(self) -> str:
        fpath = self.config.judge_prompt_template_fpath
        if not fpath:
            return JUDGE_EQUIVALENCE_PROMPT
        path = Path(fpath) if Path(fpath).is_absolute() else ENV_DIR / fpath
        try:
            template = path.read_text(encoding="utf-8").strip()
            template.format(question="", expected_answer="", generated_answer="")
        except OSError as exc:
            raise ConfigError(f"{self.config.name}: judge_prompt_template_fpath: cannot read {path}: {exc}") from None
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"{self.config.name}: judge_prompt_template_fpath: {path} is not a valid template ({exc!r}); "
                "it may use only {question}, {expected_answer} and {generated_answer} (double other braces)."
            ) from None
        return template
