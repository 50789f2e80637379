"""The training core is pure data: importing gymhall or gymhall.training loads no torch, trl or transformers."""

import subprocess
import sys


def test_importing_gymhall_and_its_training_core_loads_no_deep_learning_stack() -> None:
    code = (
        "import sys, gymhall, gymhall.training, gymhall.training.samples, gymhall.training.batches\n"
        "gymhall.rollout_samples, gymhall.pad_batch, gymhall.TrainingSample\n"
        "print(sorted(m for m in ('torch', 'trl', 'transformers', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_trl_adapter_itself_imports_no_torch() -> None:
    code = "import sys, gymhall.training.trl; print('torch' in sys.modules, 'trl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
