"""GPU check: a tiny random model served by vLLM, gymhall rollouts against it with token ids, exactness checked.

For a machine with an accelerator and vLLM installed (CI never runs it). Nothing is downloaded:

1. a byte-level BPE tokenizer is trained here (the `tokenizers` library) and a small Llama with random
   weights is built from a config (`transformers`), both saved to a temporary folder with a chat template;
2. `vllm serve` serves that folder on loopback (OpenAI-compatible, its own process);
3. the counter example's rows are played by gymhall's `Agent` with `ChatCompletionsModel(...,
   return_token_ids=True)` over HTTP, `--rollouts` of them, `--concurrency` at once;
4. every rollout line goes through `gymhall.training.rollout_samples`: the check holds when every
   sample's token sequence was joined exactly (no `gymhall:token_drift`, no missing ids).

Prints rollouts/s, the tokens generated per second, and the check's outcome; exits 1 when it failed.

    python bench/gpu_vllm.py [--rollouts 512] [--concurrency 64] [--port 8765] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COUNTER_DATA = ROOT / "examples" / "counter" / "data" / "example.jsonl"
COUNTER_CONFIG = ROOT / "examples" / "counter" / "configs" / "counter.yaml"
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] or '' }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_model(folder: Path) -> None:
    """A tokenizer trained on the counter prompts, and a 4-layer Llama with random weights, saved in `folder`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>", "<|tool|>"]
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    texts = COUNTER_DATA.read_text().splitlines() * 20
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=2048, special_tokens=specials))
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]  # transformers' constructor is untyped
        tokenizer_object=tokenizer, pad_token="<|pad|>", eos_token="<|end|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"vllm serve exited with {server.returncode} before it was ready; see its output above.")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return
        time.sleep(1)
    raise SystemExit(f"vllm serve was not ready within {timeout_s:g} s.")


async def collect(url: str, rollouts: int, concurrency: int) -> tuple[list[dict[str, Any]], float]:
    from gymhall import Agent, expand_rows, read_rows, resources_client
    from gymhall import rollouts as run_rollouts
    from gymhall.models.chat_completions import ChatCompletionsModel

    rows = read_rows(COUNTER_DATA)
    expanded = expand_rows(rows, repeats=max(1, -(-rollouts // len(rows))))[:rollouts]
    model = ChatCompletionsModel("tiny", base_url=url, return_token_ids=True, sampling={"max_tokens": 64})
    async with resources_client(configs=[str(COUNTER_CONFIG)]) as resources:
        agent = Agent(resources, model, max_steps=4, timeout_s=120)
        started = time.perf_counter()
        lines = [line async for line in run_rollouts(expanded, agent.run, concurrency=concurrency)]
        seconds = time.perf_counter() - started
    await model.aclose()
    return lines, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", type=Path, help="Build the model in this folder and keep it.")
    arguments = parser.parse_args()
    if shutil.which("vllm") is None:
        print("vllm is not installed here: this check needs a machine with an accelerator and vLLM.", file=sys.stderr)
        return 2
    from gymhall import rollout_samples

    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="gymhall-tiny-model-"))
    build_model(folder)
    url = f"http://127.0.0.1:{arguments.port}/v1"
    command = ["vllm", "serve", str(folder), "--served-model-name", "tiny", "--host", "127.0.0.1"]
    command += ["--port", str(arguments.port), "--max-model-len", "4096", "--enforce-eager"]
    server = subprocess.Popen(command, env={**os.environ, "VLLM_USE_V1": "1"})
    try:
        started = time.monotonic()
        wait_ready(url, server)
        print(f"vllm serve ready in {time.monotonic() - started:.1f} s")
        lines, seconds = asyncio.run(collect(url, arguments.rollouts, arguments.concurrency))
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(30)
        server.kill()
        if arguments.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    samples = rollout_samples(lines)
    kinds = Counter(sample.failure_kind for sample in samples if sample.mask_sample)
    drift = sum(count for kind, count in kinds.items() if kind and "token" in kind)
    generated = sum(sum(sample.loss_mask) for sample in samples)
    ok = sum(1 for line in lines if line.get("status") == "ok")
    print(json.dumps({"rollouts": len(lines), "ok": ok, "seconds": round(seconds, 2)}))
    print(f"{len(lines) / seconds:.1f} rollouts/s, {generated / seconds:.0f} generated tokens/s")
    print(f"masked samples by kind: {dict(kinds) or 'none'}")
    held = drift == 0 and ok == len(lines)
    print("token exactness: " + ("held on every rollout" if held else f"FAILED ({drift} token problems)"))
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
