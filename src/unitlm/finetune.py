"""LoRA fine-tuning shared by SFT and RFT: tokenize with a loss mask, train, save, load.

The stages differ only in what they supervise (sft: `<answer>EXPR</answer>`;
rft: reasoning ending in one), so both call `train_adapter` with their own
targets and `load_adapter` with their own model class.
"""

import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .base_llm import PROMPT_FORMAT, format_example, load_model, quiet_transformers

METADATA = "unitlm_adapter.json"
IGNORE = -100
LINEAR_LAYERS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainConfig:
    model: str | None = None  # base model; None is the default (embedded) model
    epochs: float = 1.0
    learning_rate: float = 1.5e-3
    batch_size: int = 32
    rank: int = 16
    alpha: int = 32
    # LoRA on the top layers only: backward then stops there, which halves a step's
    # cost on a CPU (measured 3.6 s -> 2.2 s per batch of 32 with 16 of 30 layers).
    top_layers: int = 16
    init_adapter: str | None = None  # continue training this adapter (e.g. the previous RFT round) instead of a new one
    eval_questions: int | None = None  # valid questions scored after training (None: all)
    checkpoint_every: int = 25  # steps between resumable checkpoints (0: none)
    resume: bool = True  # continue from a checkpoint of the same run, if an interrupted one left it
    dropout: float = 0.0
    warmup_share: float = 0.05
    max_examples: int | None = None
    seed: int = 0


class AdapterError(RuntimeError):
    """No adapter, a broken one, or one made for another base model or format."""


def tokenize(tokenizer, question: str, target: str) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for one example: the prompt masked, the target and EOS supervised."""
    prompt_ids = tokenizer(format_example(question), add_special_tokens=False)["input_ids"]
    ids = tokenizer(format_example(question, target), add_special_tokens=False)["input_ids"]
    assert ids[: len(prompt_ids)] == prompt_ids, f"prompt tokens are not a prefix of the training text: {question!r}"
    ids = ids + [tokenizer.eos_token_id]
    labels = [IGNORE] * len(prompt_ids) + ids[len(prompt_ids) :]
    assert any(label != IGNORE for label in labels), f"example has no supervised tokens: {question!r}"
    return ids, labels


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right padding for training; padding is masked out of attention and loss."""
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), IGNORE)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        attention[row, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


def lora_model(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    layers = model.config.num_hidden_layers
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=LINEAR_LAYERS,  # every linear layer of the blocks; lm_head is tied to the embeddings
        layers_to_transform=list(range(max(0, layers - config.top_layers), layers)) if config.top_layers else None,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def _resume_adapter(model, path: str):
    from peft import PeftModel

    read_metadata(Path(path), "python -m unitlm.rft train")
    return PeftModel.from_pretrained(model, path, is_trainable=True)


def supervised_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy on supervised tokens only; the vocabulary projection runs on those rows alone.

    Same value as the model's own loss, but the 49k-wide lm_head skips prompt
    and padding positions (measured 4.5 s -> 3.6 s per batch of 32 on the CPU).
    """
    inner = model.get_base_model()
    hidden = inner.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    mask = labels != IGNORE
    logits = inner.lm_head(hidden[:, :-1][mask]).float()
    return torch.nn.functional.cross_entropy(logits, labels[mask])


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def batches(examples, batch_size: int, rng: random.Random):
    """Shuffled batches of similar length: less padding, still random order."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    chunks = [order[i : i + batch_size * 8] for i in range(0, len(order), batch_size * 8)]
    out = []
    for chunk in chunks:
        chunk.sort(key=lambda i: len(examples[i][0]))
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def distributed() -> tuple[int, int]:
    """(world size, rank). Under `torchrun`/`accelerate launch` this joins the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world, int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return distributed()[1] == 0


def _average_gradients(params, world: int) -> None:
    """Data parallelism by hand: every rank steps with the mean gradient, so all ranks stay equal."""
    for p in params:
        torch.distributed.all_reduce(p.grad)
        p.grad /= world


def train_adapter(
    pairs: list[tuple[str, str]],
    output_dir: Path,
    config: TrainConfig,
    metadata: dict,
    log_dir: Path | None = None,
):
    """Train LoRA on (question, target) pairs and save it atomically to `output_dir`.

    Returns the trained (merged-ready) peft model and tokenizer.
    """
    from torch.utils.tensorboard import SummaryWriter

    quiet_transformers()
    world, rank = distributed()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)  # same on every rank: all ranks walk the same batches
    model, tokenizer = load_model(config.model)
    model = lora_model(model, config) if not config.init_adapter else _resume_adapter(model, config.init_adapter)
    model.train()
    device = model.device
    examples = [tokenize(tokenizer, question, target) for question, target in pairs]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = max(1, math.ceil(steps_per_epoch * config.epochs))
    warmup = max(1, int(total * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    log_dir = Path(log_dir or Path(output_dir).with_name(Path(output_dir).name + "_logs"))
    writer = SummaryWriter(str(log_dir)) if rank == 0 else None
    plan = []
    while len(plan) < total:
        plan += batches(examples, config.batch_size, rng)
    plan = plan[:total]
    checkpoint = _checkpoint_path(Path(output_dir))
    key = _run_key(config, pairs)
    first = _load_checkpoint(checkpoint, key, model, optimizer, schedule) if config.resume else 0
    tokens_seen, start = 0, time.time()
    progress = tqdm(range(first, total), desc="train", unit="step", disable=rank != 0, initial=first, total=total)
    for step in progress:
        batch_index = plan[step]
        shard = batch_index[rank::world] or batch_index[:1]  # each rank takes its slice of the batch
        batch = collate([examples[i] for i in shard], tokenizer.pad_token_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        loss = supervised_loss(model, batch)
        loss.backward()
        if world > 1:
            _average_gradients(params, world)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        tokens_seen += int(batch["attention_mask"].sum()) * world
        if writer:
            writer.add_scalar("train/loss", loss.item(), step)
            writer.add_scalar("train/learning_rate", schedule.get_last_lr()[0], step)
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if rank == 0 and config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < total:
            _save_checkpoint(checkpoint, key, step + 1, model, optimizer, schedule)
    elapsed = time.time() - start
    if writer:
        writer.add_scalar("train/tokens_per_second", tokens_seen / max(elapsed, 1e-9), total)
        writer.close()
    metadata = {
        **metadata,
        "base_model": config.model or _default_name(),
        "prompt_format": PROMPT_FORMAT,
        "config": asdict(config),
        "examples": len(examples),
        "steps": total,
        "train_seconds": round(elapsed, 1),
        "tokens_per_second": round(tokens_seen / max(elapsed, 1e-9), 1),
        "final_loss": round(loss.item(), 4),
        "argv": sys.argv,
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "device": str(device),
        "processes": world,
    }
    if rank == 0:
        save_adapter(model, Path(output_dir), metadata)
        checkpoint.unlink(missing_ok=True)
    if world > 1:
        torch.distributed.barrier()
    model.eval()
    return model, tokenizer


def _checkpoint_path(output_dir: Path) -> Path:
    return output_dir.with_name(f".{output_dir.name}.checkpoint.pt")


def _run_key(config: TrainConfig, pairs) -> str:
    """What makes two runs the same run: settings and data (not where results go or how they are scored)."""
    settings = {k: v for k, v in asdict(config).items() if k not in ("resume", "eval_questions", "output_dir")}
    return hashlib.sha256(json.dumps([settings, pairs], sort_keys=True, default=str).encode()).hexdigest()


def _save_checkpoint(path: Path, key: str, step: int, model, optimizer, schedule) -> None:
    state = {"key": key, "step": step, "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
             "lora": {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, key: str, model, optimizer, schedule) -> int:
    """The step to start from: after the checkpoint of an interrupted run of these settings, else 0."""
    if not path.is_file():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["key"] != key:
        print(f"train: {path} is from other settings or data; starting over")
        return 0
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state["lora"]:
                param.copy_(state["lora"][name].to(param.device))
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    print(f"train: resuming at step {state['step']} from {path}")
    return state["step"]


def train_and_evaluate(pairs, config, metadata: dict, test_model):
    """Train, save, then score on valid (rank 0 only) and record the scores beside the adapter."""
    output_dir = Path(config.output_dir)
    train_adapter(pairs, output_dir, config, metadata)
    if not is_main_process():  # under torchrun, rank 0 saved the adapter and evaluates it
        return None
    result = test_model(output_dir, max_question=config.eval_questions)
    update_metadata(output_dir, valid_accuracy=result.accuracy, valid_answer_rate=result.answer_rate)
    return result


def _default_name() -> str:
    from .base_llm import default_model

    return default_model()


def save_adapter(model, output_dir: Path, metadata: dict) -> None:
    """Save to a temporary folder beside `output_dir`, then swap it in: a crash keeps the last good adapter."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.tmp-", dir=output_dir.parent))
    model.save_pretrained(tmp)
    (tmp / METADATA).write_text(json.dumps(metadata, indent=1))
    old = _previous(output_dir)
    if not output_dir.exists() and old.exists():  # an earlier save died between its two renames
        os.replace(old, output_dir)
    shutil.rmtree(old, ignore_errors=True)
    if output_dir.exists():
        os.replace(output_dir, old)
    os.replace(tmp, output_dir)
    shutil.rmtree(old, ignore_errors=True)


def _previous(output_dir: Path) -> Path:
    return output_dir.with_name(f".{output_dir.name}.old")


def adapter_dir(path: Path) -> Path:
    """`path`, or the last good adapter at `.NAME.old` when a save was killed between its two renames."""
    path, old = Path(path), _previous(Path(path))
    return old if not path.exists() and (old / "adapter_config.json").is_file() else path


def update_metadata(output_dir: Path, **fields) -> None:
    path = Path(output_dir) / METADATA
    metadata = json.loads(path.read_text())
    metadata.update(fields)
    fd, tmp = tempfile.mkstemp(prefix=".meta.", dir=output_dir)
    with os.fdopen(fd, "w") as handle:
        json.dump(metadata, handle, indent=1)
    os.replace(tmp, path)


def read_metadata(path: Path, make_command: str) -> dict:
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        raise AdapterError(f"No trained adapter in {path}. Make one with: {make_command}")
    try:
        return json.loads((path / METADATA).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise AdapterError(f"Adapter metadata {path / METADATA} is missing or broken ({error}). "
                           f"Retrain with: {make_command}") from None


def attach_adapter(llm, path: Path, make_command: str):
    """Check the adapter's metadata against `llm`, then merge the adapter into its weights."""
    from peft import PeftModel

    path = adapter_dir(path)
    metadata = read_metadata(path, make_command)
    if metadata.get("base_model") != llm.model_name:
        raise AdapterError(
            f"The adapter in {path} was trained on {metadata.get('base_model')!r}, not {llm.model_name!r}. "
            f"Use that base model (UNITLM_MODEL / --model) or retrain: {make_command}"
        )
    if metadata.get("prompt_format") != PROMPT_FORMAT:
        raise AdapterError(
            f"The adapter in {path} uses prompt format {metadata.get('prompt_format')!r}; this unitlm uses "
            f"{PROMPT_FORMAT!r}. Retrain: {make_command}"
        )
    try:
        peft_model = PeftModel.from_pretrained(llm.model, str(path))
    except Exception as error:  # noqa: BLE001 - any failure here means a broken adapter file
        raise AdapterError(f"Could not load the adapter in {path} ({type(error).__name__}: {error}). "
                           f"Retrain: {make_command}") from None
    llm.model = peft_model.merge_and_unload().eval()
    llm.metadata = metadata
    return llm
