"""options.py: flags from config fields, with their help and default, and values out of range refused."""

import argparse

import pytest

from unitlm.datagen import DatagenConfig
from unitlm.finetune import TrainConfig
from unitlm.options import add_flags, from_flags
from unitlm.pipeline import EvalConfig
from unitlm.rft import RFTConfig
from unitlm.sft import SFTConfig

CONFIGS = [TrainConfig, SFTConfig, RFTConfig, DatagenConfig, EvalConfig]


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_has_help_that_help_prints_with_its_default(config_class, capsys):
    parser = argparse.ArgumentParser(prog="x", formatter_class=lambda prog: argparse.HelpFormatter(prog, width=10_000, max_help_position=10_000))
    add_flags(parser, config_class)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    for field in config_class.__dataclass_fields__.values():
        assert len(field.metadata.get("help", "")) > 10, field.name
        flag = f"--{field.name.replace('_', '-')}"
        line = next(line for line in out.splitlines() if line.strip().startswith((flag + " ", flag + ",")))
        assert field.metadata["help"] in line and "(default: " in line, line
        if "(default:" not in field.metadata["help"]:
            assert line.endswith(f"(default: {field.default})"), line


def test_flags_build_the_config_they_describe():
    parser = argparse.ArgumentParser()
    add_flags(parser, SFTConfig)
    config = from_flags(parser.parse_args(["--epochs", "2", "--no-resume", "--max-examples", "7"]), SFTConfig)
    assert config == SFTConfig(epochs=2.0, resume=False, max_examples=7)


@pytest.mark.parametrize("argv,message", [
    (["rft", "test", "--max-questions", "-5"], "argument --max-questions: must be at least 1, not -5"),
    (["sft", "test", "--max-questions", "0"], "argument --max-questions: must be at least 1, not 0"),
    (["cot", "test", "--max-questions", "-5"], "argument --max-questions/--max-question: must be at least 1, not -5"),
    (["sft", "train", "--batch-size", "0"], "argument --batch-size: must be at least 1, not 0"),
    (["sft", "train", "--learning-rate=-1e-3"], "argument --learning-rate: must be above 0, not -1e-3"),
    (["sft", "train", "--learning-rate", "nan"], "argument --learning-rate: must be a number, not nan"),
    (["sft", "train", "--epochs", "0"], "argument --epochs: must be above 0, not 0"),
    (["sft", "train", "--warmup-share", "1.5"], "argument --warmup-share: must be at most 1, not 1.5"),
    (["sft", "train", "--dropout", "1"], "argument --dropout: must be below 1, not 1"),
    (["sft", "train", "--max-examples", "three"], "argument --max-examples: not a valid int: 'three'"),
    (["sft", "train", "--answer-format", "words"], "argument --answer-format: must be one of expr, bare, not words"),
    (["rft", "train", "--top-layers", "-1"], "argument --top-layers: must be at least 0, not -1"),
    (["datagen", "--oversample", "0"], "argument --oversample: must be at least 1, not 0"),
    (["datagen", "--temperature", "-0.5"], "argument --temperature: must be at least 0, not -0.5"),
    (["datagen", "--skip-questions", "-1"], "argument --skip-questions: must be at least 0, not -1"),
    (["ask", "How many feet are in 3 miles?", "--votes", "0"], "argument --votes: must be at least 1, not 0"),
])
def test_a_flag_out_of_range_is_refused_in_one_line(run_cli, capsys, argv, message):
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith(message), err
    assert "Traceback" not in err


@pytest.mark.parametrize("values,message", [
    ({"batch_size": -1}, "batch_size must be at least 1, not -1"),
    ({"max_questions": 0}, "max_questions must be at least 1, not 0"),
    ({"learning_rate": "fast"}, "learning_rate must be a float, not 'fast'"),
    ({"resume": 1}, "resume must be a bool, not 1"),
])
def test_configs_refuse_values_out_of_range_from_python_too(values, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        TrainConfig(**values)


def test_a_whole_number_for_a_float_field_becomes_that_float():
    assert TrainConfig(epochs=1).epochs == 1.0 and isinstance(TrainConfig(epochs=1).epochs, float)
