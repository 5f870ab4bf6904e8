"""ship.py: a run's adapters copied into the package (a stand-in package folder here), checked first."""

import json

import pytest

from unitlm import ship
from unitlm.base_llm import PROMPT_FORMAT, default_model
from unitlm.finetune import METADATA, AdapterError


def fake_adapter(folder, **metadata):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/home/trainer/.venv/model"}))
    (folder / "adapter_model.safetensors").write_bytes(folder.name.encode())
    (folder / METADATA).write_text(json.dumps({"base_model": default_model(), "prompt_format": PROMPT_FORMAT,
                                               "command": "python -m unitlm.sft train", **metadata}))
    (folder.parent / f"{folder.name}_logs").mkdir()
    return folder


def test_ship_replaces_the_package_adapters_with_the_runs(tmp_path):
    run, package = tmp_path / "runs" / "full", tmp_path / "package"
    fake_adapter(run / "sft_model")
    fake_adapter(run / "rft_model")
    fake_adapter(run / "rft_gold_model")
    fake_adapter(package / "sft_model", stage="old")
    copied = ship.ship(run, package)
    assert copied == [(run / "sft_model", package / "sft_model"), (run / "rft_model", package / "rft_model")]
    for name in ("sft_model", "rft_model"):
        assert sorted(p.name for p in (package / name).iterdir()) == sorted(ship.ADAPTER_FILES)
        assert (package / name / "adapter_model.safetensors").read_bytes() == name.encode()
        config = json.loads((package / name / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == default_model()  # not the trainer's path
    assert sorted(p.name for p in package.iterdir()) == ["rft_model", "sft_model", "sft_model_logs"]


def test_ship_checks_every_adapter_before_replacing_any(tmp_path):
    run, package = tmp_path / "run", tmp_path / "package"
    fake_adapter(run / "sft_model")
    fake_adapter(run / "rft_model", base_model="someone/else")
    with pytest.raises(AdapterError, match="trained on 'someone/else'"):
        ship.ship(run, package)
    assert not package.exists()


def test_ship_without_adapters_is_one_clear_line(tmp_path, run_cli, capsys):
    assert run_cli(["ship", tmp_path]) == 1
    err = capsys.readouterr().err
    assert f"no adapter in {tmp_path}" in err and len(err.strip().splitlines()) == 1
