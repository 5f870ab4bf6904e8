"""A zip of the package with its trained adapters, and nothing else, for handing in or shipping.

    unitlm bundle                        # -> unitlm.zip
    unitlm bundle --out handin.zip && unitlm grade handin.zip

It holds the package's .py files, the shipped splits, and the adapter files of
sft_model/ and rft_model/; never logs, caches, checkpoints or optimizer states.
"""

import argparse
import os
import sys
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
ADAPTER_DIRS = ("sft_model", "rft_model")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "unitlm_adapter.json")
DEFAULT_OUT = "unitlm.zip"
MAX_BYTES = 50_000_000  # a course's hand-in limit: 50 MB
EPILOG = "example: unitlm bundle --out handin.zip"


class BundleError(RuntimeError):
    """The bundle cannot be made, or is too big."""


def _skipped(relative: Path) -> bool:
    """Folders that are never shipped: caches, training logs, temporary and hidden folders."""
    return any(part == "__pycache__" or part.startswith(".") or part.endswith("_logs") for part in relative.parts[:-1])


def bundle_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files of the bundle, relative to `package_dir`."""
    package_dir = Path(package_dir)
    files = [p.relative_to(package_dir) for p in package_dir.rglob("*.py")]
    files = [p for p in files if not _skipped(p) and p.parts[0] not in ADAPTER_DIRS]
    files += [p.relative_to(package_dir) for p in (package_dir / "splits").glob("*.json")]
    files += [Path(folder, name) for folder in ADAPTER_DIRS for name in ADAPTER_FILES
              if (package_dir / folder / name).is_file()]
    return sorted(files)


def make_bundle(out: str | Path = DEFAULT_OUT, package_dir: Path = PACKAGE_DIR) -> tuple[Path, int, list[Path]]:
    """Write the zip (entries under `unitlm/`); returns (path, size in bytes, files). Over MAX_BYTES it fails."""
    out, package_dir = Path(out), Path(package_dir)
    files = bundle_files(package_dir)
    if not files:
        raise BundleError(f"no package files in {package_dir}")
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(package_dir / file, Path("unitlm") / file)
    size = tmp.stat().st_size
    if size > MAX_BYTES:
        tmp.unlink()
        largest = sorted(files, key=lambda f: (package_dir / f).stat().st_size, reverse=True)[:3]
        names = ", ".join(f"{f} ({(package_dir / f).stat().st_size / 1e6:.1f} MB)" for f in largest)
        raise BundleError(f"the bundle would be {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit; "
                          f"largest files: {names}")
    os.replace(tmp, out)
    return out, size, files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm bundle", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write (default: %(default)s)")
    args = parser.parse_args(argv)
    out, size, files = make_bundle(args.out)
    for folder in ADAPTER_DIRS:
        if not any(f.parts[0] == folder for f in files):
            print(f"note: no {folder} adapter in {PACKAGE_DIR / folder}; the bundle has none")
    print(f"{out}: {len(files)} files, {size / 1e6:.1f} MB (limit {MAX_BYTES / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
