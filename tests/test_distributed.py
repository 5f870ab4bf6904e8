"""Data-parallel training under torchrun: 2 CPU processes (gloo) on the tiny model."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, os, sys
    import torch
    from unitlm import finetune
    out, model_dir, report = sys.argv[1], sys.argv[2], sys.argv[3]
    pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 13)]
    config = finetune.TrainConfig(model=model_dir, epochs=1, batch_size=4, learning_rate=1e-2)
    model, _ = finetune.train_adapter(pairs, out, config, {"stage": "test"})
    lora = torch.cat([p.detach().flatten().float() for n, p in sorted(model.named_parameters()) if "lora_" in n])
    rank = os.environ["RANK"]
    with open(f"{report}.{rank}", "w") as handle:
        json.dump({"hash": hashlib.sha256(lora.numpy().tobytes()).hexdigest(), "norm": float(lora.norm())}, handle)
    """
)


def test_two_process_training_agrees(tiny_model_dir, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out, report = tmp_path / "adapter", tmp_path / "report"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
               str(script), str(out), tiny_model_dir, str(report)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"report.{r}").read_text()) for r in (0, 1)]
    assert ranks[0]["hash"] == ranks[1]["hash"], "ranks disagree on the LoRA weights"
    metadata = json.loads((out / "unitlm_adapter.json").read_text())
    assert metadata["processes"] == 2
    assert (out / "adapter_model.safetensors").is_file()
    assert not list(tmp_path.glob(".adapter.tmp-*"))
