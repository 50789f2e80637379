"""TRL's GRPOTrainer trained through a gymhall environment (the counter), via TRL's `rollout_func` hook.

    pip install 'gymhall[train]'
    python examples/trainer/trl_grpo.py              # offline: a tiny random model, on CPU, in a minute
    python examples/trainer/trl_grpo.py --model Qwen/Qwen3-0.6B --policy-url http://localhost:8000/v1

Offline, nothing is downloaded: a tokenizer is trained on the spot, a two-layer model is built from a
config with random weights, and the fake OpenAI server plays the policy with that tokenizer's token ids
(right half the time; it cannot learn, but every number TRL computes is real: rewards from the counter's `verify`, GRPO
advantages, the loss over generated tokens only). With `--policy-url`, the policy is TRL's own vLLM
server (`trl vllm-serve --model ...`, an OpenAI-compatible server that TRL pushes the trained weights
into before each batch of rollouts) and the rollouts are on-policy.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COUNTER = HERE.parent / "counter"


def offline_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained on the counter's prompts, with ChatML's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    special = ["<pad>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = (COUNTER / "data" / "example.jsonl").read_text().splitlines()
    tokenizer.train_from_iterator(corpus * 10, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<pad>")


def half_right_policy() -> Any:
    """A fake policy: one increment, then the counter's value, off by one in every other conversation."""
    import itertools

    from gymhall.testing import FakeRequest, ToolCall, Turn

    right = itertools.cycle([True, False])

    def policy(request: FakeRequest) -> Turn:
        if request.turn_index == 0:
            return Turn(tool_calls=[ToolCall("increment", {"by": 1})])
        value = json.loads(request.last_tool_output() or "{}").get("value", 0)
        return Turn(text=str(value if next(right) else value + 1))

    return policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a causal LM (hub id or path); default: a tiny random one, offline")
    parser.add_argument("--policy-url", help="the policy's OpenAI-compatible URL (trl vllm-serve); default: fake")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--generations", type=int, default=4, help="rollouts per prompt (the GRPO group)")
    args = parser.parse_args()

    if not args.model:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # offline means offline: fail rather than reach a hub
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL 1.x: known
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from gymhall import Agent, ChatCompletionsModel, read_rows, resources_client
    from gymhall.testing import FakeOpenAI, serve_in_thread
    from gymhall.training.trl import GymhallRollouts, grpo_dataset

    if args.model:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForCausalLM.from_pretrained(args.model)
    else:
        tokenizer = offline_tokenizer()
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        model = LlamaForCausalLM(config)

    rows = read_rows(str(COUNTER / "data" / "example.jsonl"))
    fake = FakeOpenAI(half_right_policy(), token_ids=lambda text: tokenizer.encode(text))
    with tempfile.TemporaryDirectory() as output, serve_in_thread(fake) as fake_url:
        url = args.policy_url or fake_url + "/v1"
        policy = ChatCompletionsModel(args.model or "", base_url=url, return_token_ids=True)
        agent = Agent(resources_client(configs=[str(COUNTER / "configs" / "counter.yaml")]), policy)
        rollouts = GymhallRollouts(agent, concurrency=32)
        grpo = GRPOConfig(
            output_dir=output,
            per_device_train_batch_size=args.generations,
            num_generations=args.generations,
            max_steps=args.steps,
            learning_rate=1e-4,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=not args.policy_url,
        )
        trainer = GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            reward_funcs=rollouts.reward,
            rollout_func=rollouts,
            train_dataset=grpo_dataset(rows),
            args=grpo,
        )
        try:
            trainer.train()
        finally:
            rollouts.close()
    for entry in trainer.state.log_history:
        if "reward" in entry:
            print(json.dumps({"step": entry["step"], "reward": entry["reward"], "loss": entry.get("loss")}))


if __name__ == "__main__":
    main()
