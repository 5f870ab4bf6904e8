"""finetune.py: tokenization with a loss mask, LoRA training, checkpoints, atomic saves, adapter checks.

All on the tiny model from conftest.py; the subprocess tests train it for a moment.
"""

import hashlib
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from unitlm import finetune, rft, sft
from unitlm.base_llm import format_example
from unitlm.finetune import IGNORE, AdapterError, TrainConfig, collate, tokenize

KM_PAIRS = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 13)]


def test_labels_mask_prompt_and_keep_eos(tiny_llm):
    tok = tiny_llm.tokenizer
    ids, labels = tokenize(tok, "How many gram are there per 6 kg?", "<answer>6 * 1000</answer>")
    prompt_len = len(tok(format_example("How many gram are there per 6 kg?"), add_special_tokens=False)["input_ids"])
    assert labels[:prompt_len] == [IGNORE] * prompt_len
    assert labels[prompt_len:] == ids[prompt_len:]
    assert ids[-1] == tok.eos_token_id and labels[-1] == tok.eos_token_id
    assert tok.decode(ids[prompt_len:-1]) == "<answer>6 * 1000</answer>"


def test_tokenize_refuses_a_target_that_changes_the_prompt_tokens(tiny_llm):
    """A target opening with a blank line merges with the prompt's closing newline into one token:
    the model would be trained on prompt tokens it never sees at inference."""
    with pytest.raises(ValueError, match="not a prefix"):
        tokenize(tiny_llm.tokenizer, "q?", "\n\nx")


def test_collate_masks_padding(tiny_llm):
    tok = tiny_llm.tokenizer
    batch = collate([tokenize(tok, "a?", "<answer>1</answer>"), tokenize(tok, "a much longer question?", "<answer>2</answer>")],
                    tok.pad_token_id)
    short = batch["attention_mask"][0].sum()
    assert (batch["labels"][0, short:] == IGNORE).all()
    assert batch["attention_mask"][0, 0] == 1  # right padding for training
    assert (batch["labels"] != IGNORE).sum(dim=1).min() > 0


def test_two_steps_change_lora_not_base(tiny_model_dir, tmp_path, monkeypatch):
    pairs = KM_PAIRS[:4]
    before = {}
    original = finetune.lora_model

    def spy(model, config):
        before.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        wrapped = original(model, config)
        before["lora"] = {k: v.detach().clone() for k, v in wrapped.named_parameters() if "lora_B" in k}
        return wrapped

    monkeypatch.setattr(finetune, "lora_model", spy)
    config = TrainConfig(model=tiny_model_dir, epochs=1, batch_size=2, learning_rate=1e-2, top_layers=0)
    model, _ = finetune.train_adapter(pairs, tmp_path / "adapter", config, {"stage": "test"})
    after = dict(model.named_parameters())
    changed = [k for k, v in before["lora"].items() if not torch.equal(v, after[k].detach())]
    assert changed, "LoRA weights did not change"
    base = model.get_base_model().state_dict()
    for name, value in before.items():
        if name == "lora":
            continue
        key = name.replace(".weight", ".base_layer.weight") if name.replace(".weight", ".base_layer.weight") in base else name
        assert torch.equal(base[key], value), f"base weight {name} changed"
    metadata = json.loads((tmp_path / "adapter" / finetune.METADATA).read_text())
    assert math.isfinite(metadata["final_loss"]) and metadata["steps"] == 2 and metadata["base_model"] == tiny_model_dir
    assert list((tmp_path / "adapter_logs").glob("events.out.tfevents*"))


@pytest.fixture(scope="module")
def trained_adapter(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft") / "sft_model"
    finetune.train_adapter(KM_PAIRS[:8], out, TrainConfig(model=tiny_model_dir, epochs=1, batch_size=4),
                           {"stage": "sft", "command": sft.MAKE_COMMAND})
    return out


def _with_metadata(adapter: Path, folder: Path, **changes) -> Path:
    shutil.copytree(adapter, folder)
    metadata = json.loads((adapter / finetune.METADATA).read_text())
    (folder / finetune.METADATA).write_text(json.dumps({**metadata, **changes}))
    return folder


@pytest.mark.parametrize("changes,message", [({"base_model": "someone/else"}, "trained on 'someone/else'"),
                                             ({"prompt_format": "old"}, "prompt format 'old'")])
def test_load_and_continued_training_refuse_another_base_model_or_format(trained_adapter, tiny_model_dir, tmp_path,
                                                                         changes, message):
    """load() and --init-adapter make the same checks, and name the command that made the adapter."""
    adapter = _with_metadata(trained_adapter, tmp_path / "adapter", **changes)
    with pytest.raises(AdapterError, match=message) as error:
        sft.load(adapter, model=tiny_model_dir)
    assert "python -m unitlm.sft train" in str(error.value)
    config = rft.RFTConfig(model=tiny_model_dir, init_adapter=str(adapter), output_dir=str(tmp_path / "rft_model"))
    with pytest.raises(AdapterError, match=message) as error:
        finetune.train_adapter(KM_PAIRS[:2], tmp_path / "rft_model", config, {})
    assert "python -m unitlm.sft train" in str(error.value) and "unitlm.rft train (see" not in str(error.value)


def test_missing_adapter_says_how_to_make_it(tmp_path, tiny_model_dir):
    with pytest.raises(AdapterError, match=f"python -m unitlm.sft train --output-dir {tmp_path / 'nothing'}"):
        sft.load(tmp_path / "nothing", model=tiny_model_dir)
    with pytest.raises(AdapterError, match="rft train"):
        rft.load(tmp_path / "nothing", model=tiny_model_dir)
    config = TrainConfig(model=tiny_model_dir, init_adapter=str(tmp_path / "nothing"))
    with pytest.raises(AdapterError, match="No trained adapter in .*nothing. Make one with: python -m unitlm.sft"):
        finetune.train_adapter(KM_PAIRS[:2], tmp_path / "out", config, {})


def test_corrupted_adapter_is_clear_error(trained_adapter, tiny_model_dir, tmp_path):
    copy = tmp_path / "broken"
    shutil.copytree(trained_adapter, copy)
    (copy / "adapter_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(AdapterError, match="Could not load the adapter"):
        sft.load(copy, model=tiny_model_dir)
    (copy / finetune.METADATA).write_text("{not json")
    with pytest.raises(AdapterError, match="missing or broken"):
        sft.load(copy, model=tiny_model_dir)


def test_load_takes_dtype_and_device(trained_adapter, tiny_model_dir):
    llm = sft.load(trained_adapter, model=tiny_model_dir, dtype=torch.bfloat16, device="cpu")
    assert {p.dtype for p in llm.model.parameters()} == {torch.bfloat16} and llm.device.type == "cpu"
    assert isinstance(llm, sft.SFTModel) and llm.adapter_dir == trained_adapter


def test_atomic_save_keeps_previous_adapter_on_failure(trained_adapter, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(trained_adapter, target)

    class Broken:
        def save_pretrained(self, path):
            Path(path, "partial").write_text("x")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        finetune.save_adapter(Broken(), target, {})
    assert (target / "adapter_config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "a temporary folder was left behind"


def test_interrupted_training_resumes_to_the_same_adapter(tiny_model_dir, tmp_path, monkeypatch):
    """Stop after a checkpoint, rerun: training resumes there and ends where an uninterrupted run ends."""
    config = TrainConfig(model=tiny_model_dir, epochs=1, batch_size=2, learning_rate=1e-2, checkpoint_every=2)
    finetune.train_adapter(KM_PAIRS, tmp_path / "whole", config, {})

    real_clip = torch.nn.utils.clip_grad_norm_
    calls = {"n": 0}

    def stop_at_step_five(params, norm):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated kill")
        return real_clip(params, norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", stop_at_step_five)
    with pytest.raises(KeyboardInterrupt):
        finetune.train_adapter(KM_PAIRS, tmp_path / "resumed", config, {})
    assert (tmp_path / ".resumed.checkpoint.pt").is_file()
    resumed_steps = []

    def count(params, norm):
        resumed_steps.append(1)
        return real_clip(params, norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", count)
    finetune.train_adapter(KM_PAIRS, tmp_path / "resumed", config, {})
    assert len(resumed_steps) == 2, "did not resume at the step-4 checkpoint (6 steps in all)"
    assert not (tmp_path / ".resumed.checkpoint.pt").exists()
    whole = load_file(tmp_path / "whole" / "adapter_model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert all(torch.allclose(whole[k], resumed[k], atol=1e-6) for k in whole)


def test_next_round_continues_previous_adapter(tiny_model_dir, tmp_path):
    pairs = [(q, f"1 kilometer = 1000 meter. {t}") for q, t in KM_PAIRS[:8]]
    round0 = tmp_path / "round0"
    finetune.train_adapter(pairs, round0, TrainConfig(model=tiny_model_dir, epochs=1, batch_size=4), {"stage": "rft"})
    config = TrainConfig(model=tiny_model_dir, epochs=0.01, batch_size=1, learning_rate=1e-12, init_adapter=str(round0))
    finetune.train_adapter(pairs, tmp_path / "round1", config, {"stage": "rft"})
    before = load_file(round0 / "adapter_model.safetensors")
    after = load_file(tmp_path / "round1" / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before), "round 1 did not start from round 0"
    assert any(v.abs().sum() > 0 for k, v in before.items() if "lora_B" in k)


@pytest.mark.filterwarnings("ignore:answer_rate")
def test_train_records_paths_relative_to_the_run_folder(tiny_model_dir, tmp_path, capsys):
    """Metadata names the data file and the adapters it continues from and writes to relative to the run folder;
    adapter_config.json names the base model as unitlm does, not by the trainer's absolute path."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "data.json").write_text(json.dumps([[q, 1000.0 * i, f"x. {t}"] for i, (q, t) in enumerate(KM_PAIRS, 1)]))
    config = rft.RFTConfig(model=tiny_model_dir, train_file=str(run / "data.json"), output_dir=str(run / "rft_model"),
                           epochs=0.5, batch_size=4, max_questions=2)
    valid = rft.train_model(config)
    metadata = json.loads((run / "rft_model" / finetune.METADATA).read_text())
    assert metadata["train_file"] == metadata["config"]["train_file"] == "data.json"
    assert metadata["config"]["output_dir"] == "rft_model" and metadata["stage"] == "rft"
    assert metadata["valid_accuracy"] == valid.accuracy and len(valid.samples) == 2
    assert metadata["argv"][0] == Path(sys.argv[0]).name
    assert "unitlm ship" in capsys.readouterr().out
    adapter_config = json.loads((run / "rft_model" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == metadata["base_model"]
    assert str(tmp_path) not in (run / "rft_model" / "adapter_config.json").read_text()


def test_training_without_pairs_is_a_clear_error(tiny_model_dir, tmp_path):
    (tmp_path / "plain.json").write_text(json.dumps([["q", 1.0]]))
    config = rft.RFTConfig(model=tiny_model_dir, train_file=str(tmp_path / "plain.json"), output_dir=str(tmp_path / "o"))
    with pytest.raises(ValueError, match="none of its 1 entries gives a rft training pair"):
        rft.train_model(config)


# ---------------------------------------------------------------- a killed run loses nothing

TRAIN_SCRIPT = """
import os, sys, time
from pathlib import Path
from unitlm import finetune

model_dir, out, epochs, hook = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if hook == "swap":
    # Stop for good in the middle of swapping the new adapter in: the worst moment to die.
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(".old"):
            print("IN-SWAP", flush=True)
            time.sleep(600)
    os.replace = replace
pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 33)]
config = finetune.TrainConfig(model=model_dir, epochs=epochs, batch_size=4, seed=1)
finetune.train_adapter(pairs, out, config, {"stage": "sft"})
print("FINISHED", flush=True)
"""


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _train_and_kill(tiny_model_dir, out: Path, epochs: float, hook: str, marker: bytes, timeout: float = 240):
    """Start training in a subprocess, SIGKILL it once `marker` shows in its output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", textwrap.dedent(TRAIN_SCRIPT), tiny_model_dir, str(out), str(epochs), hook]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while marker not in output:
            if time.monotonic() > deadline:
                pytest.fail(f"no {marker!r} within {timeout} s: {output[-2000:]!r}")
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    pytest.fail(f"training exited ({proc.returncode}) before {marker!r}: {output[-2000:]!r}")
                output += chunk
        assert b"FINISHED" not in output, "training finished before it could be killed"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("epochs,hook,marker", [(2000, "none", b"loss="), (0.125, "swap", b"IN-SWAP")])
def test_sigkill_keeps_the_old_adapter(trained_adapter, tiny_model_dir, tmp_path, epochs, hook, marker):
    """Killed mid-training or between the two renames of the swap, the old adapter is still the one loaded."""
    out = tmp_path / "sft_model"
    shutil.copytree(trained_adapter, out)
    before = _digest(out)
    _train_and_kill(tiny_model_dir, out, epochs, hook, marker)
    assert _digest(finetune.adapter_dir(out)) == before
    assert sft.load(out, model=tiny_model_dir).metadata == json.loads((trained_adapter / finetune.METADATA).read_text())


# ---------------------------------------------------------------- data parallel under torchrun

DISTRIBUTED_SCRIPT = textwrap.dedent(
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_process_training_agrees(tiny_model_dir, tmp_path):
    """Two CPU processes (gloo) on the tiny model end with the same LoRA weights; rank 0 saves them."""
    script = tmp_path / "train.py"
    script.write_text(DISTRIBUTED_SCRIPT)
    out, report = tmp_path / "adapter", tmp_path / "report"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(_free_port()), str(script), str(out), tiny_model_dir, str(report)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"report.{r}").read_text()) for r in (0, 1)]
    assert ranks[0]["hash"] == ranks[1]["hash"], "ranks disagree on the LoRA weights"
    assert ranks[0]["norm"] > 0
    metadata = json.loads((out / "unitlm_adapter.json").read_text())
    assert metadata["processes"] == 2
    assert (out / "adapter_model.safetensors").is_file()
    assert not list(tmp_path.glob(".adapter.tmp-*"))


def test_replay_mixes_train_pairs_into_a_round(tmp_path):
    """A round on a narrow file (the forms split) takes `replay` pairs of the train split too, the same ones each run."""
    from unitlm.data import Dataset

    (tmp_path / "d.json").write_text(json.dumps([["How many m in 2 km?", 2000.0,
                                                  "1 kilometer = 1000 meter. 1 meter = 1 meter. <answer>2 * 1000 / 1</answer>"]]))
    config = rft.RFTConfig(train_file=str(tmp_path / "d.json"), replay=5)
    pairs, path = finetune.training_pairs(rft.STAGE, config)
    assert path == tmp_path / "d.json" and len(pairs) == 6 and pairs[0][0] == "How many m in 2 km?"
    train = {entry[0]: entry[2] for entry in Dataset("train").data}
    assert all(train.get(question) == target for question, target in pairs[1:])
    assert pairs == finetune.training_pairs(rft.STAGE, config)[0]
    assert finetune.training_pairs(rft.STAGE, rft.RFTConfig(train_file=str(tmp_path / "d.json")))[0] == pairs[:1]


def test_replay_from_draws_from_several_splits_each_cut_to_its_first_pairs(tmp_path):
    """`replay_from` pools its splits (NAME:N: the first N pairs of NAME) and draws the replay pairs from the pool."""
    from unitlm.data import Dataset

    (tmp_path / "d.json").write_text(json.dumps([["How many m in 2 km?", 2000.0,
                                                  "1 kilometer = 1000 meter. 1 meter = 1 meter. <answer>2 * 1000 / 1</answer>"]]))
    assert finetune.replay_sources(" train , forms:3,letters") == [("train", None), ("forms", 3), ("letters", None)]
    config = rft.RFTConfig(train_file=str(tmp_path / "d.json"), replay=40, replay_from="forms:3,letters:5")
    pairs, _ = finetune.training_pairs(rft.STAGE, config)
    pool = {e[0] for e in Dataset("forms").data[:3]} | {e[0] for e in Dataset("letters").data[:5]}
    assert len(pairs) == 1 + 8 and {q for q, _ in pairs[1:]} == pool, "a pool smaller than `replay` is taken whole"
    with pytest.raises(ValueError, match="replay_from"):
        rft.RFTConfig(replay_from=" , ")


def test_a_bad_replay_from_flag_is_one_line_before_training(capsys):
    with pytest.raises(SystemExit) as exit_:
        finetune.main(rft.STAGE, ["train", "--replay-from", ",", "--replay", "3"])
    assert exit_.value.code == 2 and "replay_from: name at least one split or file" in capsys.readouterr().err
