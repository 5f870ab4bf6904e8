"""Rejection-sampling fine-tuning: LoRA on question -> reasoning -> <answer>EXPR</answer>.

    python -m unitlm.rft train --init-adapter runs/sft_model --max-examples 5000   # -> runs/rft_model
    python -m unitlm.rft train --train-file runs/rft_data.json --init-adapter runs/rft_model \
        --learning-rate 1e-4 --output-dir runs/rft_round1_model
    python -m unitlm.rft test --split test       # the package's adapter

The rounds of the shipped adapter (gold reasoning from the SFT adapter, then its own
correct samples from `unitlm datagen`, then the forms split and last the letters split, with
train questions mixed in: `--train-file forms --replay 2000`) are the recipe recipes/full.toml, which
`unitlm pipeline --budget full` runs into one run folder.

The reasoning states the factors it uses ("1 gallon = 3.78541 liter.") and ends
in an expression the calculator evaluates; the reward checks only the final
number (`data.is_answer_valid`). Training, loading and testing are finetune.py's;
this file says what RFT supervises.
"""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import finetune
from .base_llm import ANSWER_CLOSE, BaseLLM
from .finetune import Stage, TrainConfig
from .options import option

MODEL_DIR = Path(__file__).parent / "rft_model"
MAKE_COMMAND = "python -m unitlm.rft train --train-file RFT_DATA --init-adapter PREVIOUS_ADAPTER"


@dataclass
class RFTConfig(TrainConfig):
    output_dir: str = option("runs/rft_model", "where the adapter goes; the package's own folder "
                                               "(src/unitlm/rft_model) only when named here or by `unitlm ship`")


class RFTModel(BaseLLM):
    max_new_tokens = 80  # room for two stated factors and the expression: the longest train reasoning fits


def reasoning_pair(entry: list, config: RFTConfig | None = None) -> tuple[str, str] | None:
    """(question, reasoning) of an entry whose reasoning ends in <answer>...</answer>; None for others."""
    if len(entry) > 2 and ANSWER_CLOSE in entry[2]:
        return entry[0], entry[2].strip()
    return None


STAGE = Stage("rft", RFTModel, MODEL_DIR, RFTConfig, reasoning_pair, MAKE_COMMAND, __doc__)
# The stage's public functions, finetune's own with this stage filled in:
# load(path=MODEL_DIR, model=None, dtype=None, device=None) -> RFTModel; train_model(config: RFTConfig) -> the
# valid BenchmarkResult; test_model(path=MODEL_DIR, split="valid", max_questions=None); main(argv=None).
load, train_model, test_model, main = (partial(finetune.load, STAGE), partial(finetune.train, STAGE),
                                       partial(finetune.evaluate, STAGE), partial(finetune.main, STAGE))

if __name__ == "__main__":
    main()
