"""Copy a run's trained adapters into the package, where `load()`, `unitlm ask` and `unitlm bundle` find them.

    unitlm ship runs/full          # runs/full/sft_model, runs/full/rft_model -> src/unitlm/sft_model, rft_model
    unitlm ship runs               # what `unitlm sft train` and `unitlm rft train` wrote by default

Training never writes into the package unless told to (`--output-dir src/unitlm/sft_model`);
this is the step that replaces the shipped adapters. Each one is checked first (made for the
default base model and this prompt format) and swapped in whole, so a failure keeps the old one.
"""

import argparse
import shutil
import sys
from pathlib import Path

from .bundle import ADAPTER_DIRS, ADAPTER_FILES, PACKAGE_DIR
from .finetune import AdapterError, check_adapter, name_base_model, scratch_dir, swap_in

EPILOG = "example: unitlm pipeline --budget full && unitlm ship runs/full && git diff --stat src/unitlm"


def ship(run: str | Path, package_dir: Path = PACKAGE_DIR) -> list[tuple[Path, Path]]:
    """Copy the adapters of `run` into `package_dir`; returns the (from, to) folders it copied."""
    from .base_llm import default_model

    run, package_dir = Path(run), Path(package_dir)
    found = [name for name in ADAPTER_DIRS if (run / name / "adapter_config.json").is_file()]
    if not found:
        raise AdapterError(f"no adapter in {run} (looked for {', '.join(f'{run / n}/' for n in ADAPTER_DIRS)})")
    base_model = default_model()
    for name in found:  # check them all before replacing any
        check_adapter(run / name, base_model, f"the stage that made {run / name}")
        missing = [file for file in ADAPTER_FILES if not (run / name / file).is_file()]
        if missing:
            raise AdapterError(f"{run / name} lacks {', '.join(missing)}")
    copied = []
    for name in found:
        target = package_dir / name
        tmp = scratch_dir(target)
        for file in ADAPTER_FILES:
            shutil.copy2(run / name / file, tmp / file)
        name_base_model(tmp, base_model)  # no trainer's path in the package
        swap_in(tmp, target)
        copied.append((run / name, target))
    return copied


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm ship", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder holding sft_model/ and/or rft_model/")
    args = parser.parse_args(argv)
    for source, target in ship(args.run):
        print(f"ship: {source} -> {target} (replaced the shipped {target.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
