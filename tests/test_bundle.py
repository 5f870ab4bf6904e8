"""bundle.py: the hand-in zip holds the package and its adapters, nothing else, under the size limit."""

import zipfile
from pathlib import Path

import pytest

from unitlm import bundle


def fake_package(root: Path) -> Path:
    files = {
        "__init__.py": "", "cli.py": "", "units/__init__.py": "", "units/table.py": "",
        "__pycache__/cli.cpython-311.pyc": "x", "units/__pycache__/table.cpython-311.pyc": "x",
        "splits/train.json": "[]", "splits/train.tags.json": "[]", "splits/notes.txt": "x",
        "sft_model/adapter_config.json": "{}", "sft_model/adapter_model.safetensors": "w" * 1000,
        "sft_model/unitlm_adapter.json": "{}", "sft_model/README.md": "x", "sft_model/optimizer.pt": "x",
        "sft_model/checkpoint-10/adapter_model.safetensors": "x",
        "sft_model_logs/events.out.tfevents.1": "x", "sft_model_logs/helper.py": "",
        ".sft_model.tmp-ab12/adapter_model.safetensors": "x", ".sft_model.tmp-ab12/x.py": "",
        "rft_model/adapter_config.json": "{}", "rft_model/adapter_model.safetensors": "w",
        "rft_model/unitlm_adapter.json": "{}", "rft_model/scheduler.pt": "x",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_bundle_holds_package_and_adapters_only(tmp_path):
    package = fake_package(tmp_path / "pkg")
    out, size, _ = bundle.make_bundle(tmp_path / "b.zip", package)
    names = set(zipfile.ZipFile(out).namelist())
    assert names == {f"unitlm/{n}" for n in [
        "__init__.py", "cli.py", "units/__init__.py", "units/table.py", "splits/train.json", "splits/train.tags.json",
        "sft_model/adapter_config.json", "sft_model/adapter_model.safetensors", "sft_model/unitlm_adapter.json",
        "rft_model/adapter_config.json", "rft_model/adapter_model.safetensors", "rft_model/unitlm_adapter.json"]}
    assert size == out.stat().st_size > 0


def test_bundle_over_the_limit_fails_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_BYTES", 100)
    with pytest.raises(bundle.BundleError, match="over the"):
        bundle.make_bundle(tmp_path / "b.zip", fake_package(tmp_path / "pkg"))
    assert list(tmp_path.glob("*.zip*")) == []


def test_bundle_command_on_the_package(tmp_path, capsys, monkeypatch, run_cli):
    out = tmp_path / "handin.zip"
    assert run_cli(["bundle", "--out", out]) == 0
    assert "MB" in capsys.readouterr().out
    names = zipfile.ZipFile(out).namelist()
    assert "unitlm/__init__.py" in names and "unitlm/splits/valid.json" in names
    assert "unitlm/sft_model/adapter_model.safetensors" in names and "unitlm/rft_model/unitlm_adapter.json" in names
    assert not [n for n in names if "__pycache__" in n or "_logs/" in n or not n.startswith("unitlm/")]
    monkeypatch.setattr(bundle, "MAX_BYTES", 1000)
    assert run_cli(["bundle", "--out", tmp_path / "big.zip"]) == 1
    err = capsys.readouterr().err
    assert "over the" in err and "Traceback" not in err and not (tmp_path / "big.zip").exists()
