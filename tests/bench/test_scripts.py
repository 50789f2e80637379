"""The benchmark scripts under bench/ run as written (with small sizes): each prints what its README says."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fork_benchmark_compares_seeded_and_forked_rollouts() -> None:
    command = [sys.executable, str(BENCH / "forking.py"), "--tasks", "2", "--repeats", "3", "--rounds", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert "seeded:" in result.stdout and "6 seedings" in result.stdout and "2 seedings" in result.stdout
    assert "workplace, 2 tasks x 3 repeats = 6 rollouts" in result.stdout


def test_the_gpu_check_builds_its_model_offline_and_says_when_vllm_is_missing(tmp_path: Path) -> None:
    gpu = load("gpu_vllm")
    gpu.build_model(tmp_path)
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    messages = [{"role": "user", "content": "hi"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|user|>hi<|end|><|assistant|>"
    assert AutoConfig.from_pretrained(tmp_path).num_hidden_layers == 4
    assert shutil.which("vllm") is None  # CI's machine has no accelerator and no vLLM
    result = subprocess.run([sys.executable, str(BENCH / "gpu_vllm.py")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "vllm is not installed here" in result.stderr
