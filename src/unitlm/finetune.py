"""LoRA fine-tuning for every trained stage: one stage description, one train, load, evaluate and main.

A stage (`sft.py`, `rft.py`) describes only what is its own in a `Stage`: its model
class, its config class, its adapter folder in the package, and how a data entry
becomes a (question, target) training pair. The rest is here:

    train(stage, config)        tokenize with a loss mask, train LoRA, save it atomically, score it on valid
    load(stage, path)           the base model with the adapter merged in, after checking its metadata
    evaluate(stage, path)       accuracy and answer rate on a split (the stages' `test` command)
    main(stage, argv)           `python -m unitlm.<stage> train|test`

Training writes under `runs/` unless `--output-dir` says otherwise; the package's own
adapter folders change only by `unitlm ship RUN` or an explicit `--output-dir`.
"""

import argparse
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .base_llm import PROMPT_FORMAT, format_example, load_model, quiet_transformers
from .data import DataError, Dataset, benchmark_and_print, file_hash, source_name, split_path
from .options import add_flags, add_test_command, from_flags, option, validate

METADATA = "unitlm_adapter.json"
IGNORE = -100
LINEAR_LAYERS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PACKAGE_DIR = Path(__file__).parent
PATH_FIELDS = ("train_file", "init_adapter", "output_dir")  # recorded relative to the run folder


@dataclass
class TrainConfig:
    model: str | None = option(None, "base model: Hugging Face id, folder or .gguf file (default: the embedded model)")
    train_file: str = option("train", "training data: a split name, or a JSON file of [question, answer(, reasoning)]")
    epochs: float = option(1.0, "passes over the training pairs", above=0)
    learning_rate: float = option(1.5e-3, "AdamW learning rate at the top of the schedule", above=0)
    batch_size: int = option(32, "training pairs per optimizer step (summed over processes under torchrun)",
                             at_least=1)
    rank: int = option(16, "LoRA rank: the inner size of each low-rank update", at_least=1)
    alpha: int = option(32, "LoRA alpha: the update is scaled by alpha / rank", at_least=1)
    top_layers: int = option(16, "LoRA on the top N transformer layers only (0: every layer); backward then stops "
                                 "at the lowest of them, so a step costs less", at_least=0)
    init_adapter: str | None = option(None, "continue training this adapter (e.g. the previous RFT round) "
                                            "(default: a new adapter)")
    max_questions: int | None = option(None, "valid questions scored after training: only the first N "
                                             "(default: all)", at_least=1)
    checkpoint_every: int = option(25, "steps between resumable checkpoints (0: none)", at_least=0)
    resume: bool = option(True, "continue from the checkpoint an interrupted run of the same settings left")
    dropout: float = option(0.0, "LoRA dropout on the adapter's input", at_least=0, below=1)
    warmup_share: float = option(0.05, "share of the steps with a linearly rising learning rate", at_least=0,
                                 at_most=1)
    max_examples: int | None = option(None, "train on only the first N training pairs (default: all)", at_least=1)
    replay: int = option(0, "pairs mixed in at random from --replay-from, so a round on a narrow file (the forms "
                            "split) keeps what the rounds before it taught", at_least=0)
    replay_from: str = option("train", "where the replay pairs come from: splits or files, comma-separated, each as "
                                       "NAME or NAME:N (its first N pairs), drawn from all of them together")
    seed: int = option(0, "seed of LoRA's initial weights and of the batch order", at_least=0)

    def __post_init__(self):
        validate(self)
        replay_sources(self.replay_from)  # a bad value fails here, before any training


@dataclass(frozen=True)
class Stage:
    """What a trained stage has of its own; `train`, `load`, `evaluate` and `main` do the rest."""

    name: str  # its command (`unitlm sft`) and the `stage` its adapters' metadata records
    model_class: type  # the BaseLLM subclass that prompts and parses as the stage was trained
    model_dir: Path  # the adapter shipped in the package: what load() and `test` use by default
    config_class: type  # its TrainConfig subclass: every training default, with its help
    pair: Callable  # (entry, config) -> (question, target), or None for an entry it cannot train on
    make_command: str  # how to make its adapter, for error messages and the metadata
    doc: str = ""  # the stage module's docstring, shown by --help


class AdapterError(RuntimeError):
    """No adapter, a broken one, or one made for another base model or format."""


def tokenize(tokenizer, question: str, target: str) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for one example: the prompt masked, the target and EOS supervised."""
    prompt_ids = tokenizer(format_example(question), add_special_tokens=False)["input_ids"]
    ids = tokenizer(format_example(question, target), add_special_tokens=False)["input_ids"]
    if ids[: len(prompt_ids)] != prompt_ids:
        raise ValueError(f"the prompt's tokens are not a prefix of the training text's: {question!r}")
    ids = ids + [tokenizer.eos_token_id]
    labels = [IGNORE] * len(prompt_ids) + ids[len(prompt_ids) :]
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


def _resume_adapter(model, path: str | Path, base_model: str):
    """`model` with the adapter in `path` attached for more training, after the checks `attach_adapter` makes."""
    from peft import PeftModel

    path = adapter_dir(Path(path))
    make = (f"python -m unitlm.sft train --output-dir {path}, or the RFT round before it "
            f"(python -m unitlm.rft train --output-dir {path})")
    check_adapter(path, base_model, make)
    return PeftModel.from_pretrained(model, str(path), is_trainable=True)


def supervised_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy on supervised tokens only; the vocabulary projection runs on those rows alone.

    Same value as the model's own loss, but the 49k-wide lm_head skips the prompt and
    padding positions, which are most of a batch.
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


def portable_config(config: TrainConfig, run_dir: Path) -> dict:
    """The config as metadata records it: paths relative to the run folder, splits by name."""
    values = asdict(config)
    for name in PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = source_name(values[name], run_dir)
    return values


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
    base_model = config.model or _default_name()
    model, tokenizer = load_model(config.model)
    model = lora_model(model, config) if not config.init_adapter else _resume_adapter(model, config.init_adapter,
                                                                                      base_model)
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
        "base_model": base_model,
        "prompt_format": PROMPT_FORMAT,
        "config": portable_config(config, Path(output_dir).parent),
        "examples": len(examples),
        "steps": total,
        "train_seconds": round(elapsed, 1),
        "tokens_per_second": round(tokens_seen / max(elapsed, 1e-9), 1),
        "final_loss": round(loss.item(), 4),
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]],
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
    settings = {k: v for k, v in asdict(config).items() if k not in ("resume", "max_questions", "output_dir")}
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


def training_pairs(stage: Stage, config: TrainConfig) -> tuple[list[tuple[str, str]], Path]:
    """The stage's (question, target) pairs from `config.train_file`, in file order, then `config.replay` pairs
    drawn from the splits `config.replay_from` names; and the file's path."""
    dataset = Dataset(config.train_file)
    pairs = [pair for entry in dataset.data if (pair := stage.pair(entry, config)) is not None]
    if not pairs:
        raise DataError(f"{dataset.path}: none of its {len(dataset)} entries gives a {stage.name} training pair "
                        f"({(stage.pair.__doc__ or '').strip().splitlines()[0]})")
    pairs = pairs[: config.max_examples]
    if config.replay:
        pool = []
        for name, first in replay_sources(config.replay_from):
            pool += [pair for entry in Dataset(name).data if (pair := stage.pair(entry, config)) is not None][:first]
        pairs += random.Random(f"replay-{config.seed}").sample(pool, min(config.replay, len(pool)))
    return pairs, dataset.path


def replay_sources(text: str) -> list[tuple[str, int | None]]:
    """`replay_from` as (split or file, first N pairs or None for all).

    >>> replay_sources("train,forms:1300")
    [('train', None), ('forms', 1300)]
    """
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, colon, first = part.rpartition(":")
        if not (colon and name and first.isdigit()):  # no count: the whole split or file
            name, first = part, ""
        out.append((name, int(first) if first else None))
    if not out:
        raise ValueError("replay_from: name at least one split or file")
    return out


def train(stage: Stage, config: TrainConfig):
    """Train `stage`'s adapter as `config` says into `config.output_dir`, then score it on valid there.

    Returns the valid BenchmarkResult (None on every process but the first under torchrun).
    """
    output_dir = Path(config.output_dir)
    if output_dir.resolve().parent == PACKAGE_DIR.resolve():
        print(f"{stage.name}: writing into the package's own adapter folder {output_dir}: "
              "it replaces the shipped adapter")
    pairs, path = training_pairs(stage, config)
    metadata = {"stage": stage.name, "train_file": source_name(config.train_file, output_dir.parent),
                "train_file_sha256": file_hash(path), "command": stage.make_command}
    if config.replay and config.replay_from == "train":
        metadata["replay_file_sha256"] = file_hash(split_path("train"))
    elif config.replay:
        metadata["replay_files_sha256"] = {name: file_hash(Dataset(name).path)
                                           for name, _ in replay_sources(config.replay_from)}
    train_adapter(pairs, output_dir, config, metadata)
    if not is_main_process():  # under torchrun, rank 0 saved the adapter and evaluates it
        return None
    result = evaluate(stage, output_dir, "valid", config.max_questions, model=config.model)
    update_metadata(output_dir, valid_accuracy=result.accuracy, valid_answer_rate=result.answer_rate)
    shippable = output_dir.name == stage.model_dir.name and output_dir.resolve().parent != PACKAGE_DIR.resolve()
    print(f"{stage.name}: adapter saved in {output_dir}"
          + (f"; `unitlm ship {output_dir.parent}` copies it into the package" if shippable else ""))
    return result


def _default_name() -> str:
    from .base_llm import default_model

    return default_model()


def scratch_dir(output_dir: Path) -> Path:
    """A new temporary folder beside `output_dir`, to fill and then `swap_in`."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.tmp-", dir=output_dir.parent))


def swap_in(tmp: Path, output_dir: Path) -> None:
    """Put the filled folder `tmp` at `output_dir`: a crash at any point leaves the old or the new one."""
    old = _previous(output_dir)
    if not output_dir.exists() and old.exists():  # an earlier save died between its two renames
        os.replace(old, output_dir)
    shutil.rmtree(old, ignore_errors=True)
    if output_dir.exists():
        os.replace(output_dir, old)
    os.replace(tmp, output_dir)
    shutil.rmtree(old, ignore_errors=True)


def name_base_model(folder: Path, base_model: str | None) -> None:
    """Write `base_model` (unitlm's name for it, e.g. "embedded:SmolLM2-135M-Instruct") into the folder's
    adapter_config.json in place of the absolute path PEFT records, which holds the trainer's home and venv.
    Loading never reads it: attach_adapter gives PEFT the base model already loaded."""
    path = Path(folder) / "adapter_config.json"
    config = json.loads(path.read_text())
    if base_model and config.get("base_model_name_or_path") != base_model:
        config["base_model_name_or_path"] = base_model
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def save_adapter(model, output_dir: Path, metadata: dict) -> None:
    """Save to a temporary folder beside `output_dir`, then swap it in: a crash keeps the last good adapter."""
    tmp = scratch_dir(output_dir)
    try:
        model.save_pretrained(tmp)
        name_base_model(tmp, metadata.get("base_model"))
        (tmp / METADATA).write_text(json.dumps(metadata, indent=1))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, output_dir)


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


def check_adapter(path: Path, base_model: str, make_command: str) -> dict:
    """The adapter's metadata, once it is known to be made for `base_model` and this prompt format."""
    metadata = read_metadata(path, make_command)
    remake = metadata.get("command") or make_command
    if metadata.get("base_model") != base_model:
        raise AdapterError(
            f"The adapter in {path} was trained on {metadata.get('base_model')!r}, not {base_model!r}. "
            f"Use that base model (UNITLM_MODEL / --model) or retrain: {remake}"
        )
    if metadata.get("prompt_format") != PROMPT_FORMAT:
        raise AdapterError(
            f"The adapter in {path} uses prompt format {metadata.get('prompt_format')!r}; this unitlm uses "
            f"{PROMPT_FORMAT!r}. Retrain: {remake}"
        )
    return metadata


def attach_adapter(llm, path: Path, make_command: str):
    """Check the adapter's metadata against `llm`, then merge the adapter into its weights."""
    from peft import PeftModel

    path = adapter_dir(path)
    metadata = check_adapter(path, llm.model_name, make_command)
    try:
        peft_model = PeftModel.from_pretrained(llm.model, str(path))
    except Exception as error:  # noqa: BLE001 - any failure here means a broken adapter file
        raise AdapterError(f"Could not load the adapter in {path} ({type(error).__name__}: {error}). "
                           f"Retrain: {make_command}") from None
    llm.model = peft_model.merge_and_unload().eval()
    llm.metadata = metadata
    llm.adapter_dir = path
    return llm


def load(stage: Stage, path: str | Path | None = None, model: str | None = None, dtype: torch.dtype | None = None,
         device: str | None = None):
    """`stage`'s model with the adapter in `path` (default: the package's) merged into the base `model`.

    `dtype` and `device` default to the machine's (see base_llm.pick_device and pick_dtype).
    """
    path = Path(path or stage.model_dir)
    make = f"{stage.make_command} --output-dir {path} (every stage in order: unitlm pipeline)"
    return attach_adapter(stage.model_class(model, device=device, dtype=dtype), path, make)


def evaluate(stage: Stage, path: str | Path | None = None, split: str = "valid", max_questions: int | None = None,
             model: str | None = None):
    """Accuracy and answer rate of the adapter in `path` on the first `max_questions` of `split`, printed."""
    return benchmark_and_print(load(stage, path, model), stage.name, split, max_questions)


def main(stage: Stage, argv=None):
    """`train` with a flag per config field, or `test` an adapter."""
    parser = argparse.ArgumentParser(prog=f"unitlm {stage.name}", description=stage.doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train_parser = sub.add_parser(
        "train", help=f"train the {stage.name.upper()} adapter",
        epilog=f"example: python -m unitlm.{stage.name} train --max-examples 1000 --output-dir runs/try/"
               f"{stage.name}_model")
    add_flags(train_parser, stage.config_class)
    add_test_command(sub, stage.name, stage.model_dir)
    args = parser.parse_args(argv)
    if args.command == "train":
        try:
            config = from_flags(args, stage.config_class)
        except ValueError as error:  # a value the flags' own checks cannot see (--replay-from)
            train_parser.error(str(error))
        train(stage, config)
    else:
        evaluate(stage, args.path, args.split, args.max_questions, args.model)
