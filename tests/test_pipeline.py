"""pipeline.py: recipes, every stage once into its run folder, resuming, on recorders (no model, no training)."""

import json
import re
from pathlib import Path

import pytest

from unitlm import finetune, pipeline, report
from unitlm.datagen import DatagenConfig
from unitlm.rft import RFTConfig
from unitlm.sft import SFTConfig

RECIPES = sorted(pipeline.RECIPES_DIR.glob("*.toml"))
HYPERPARAMETERS = ("epochs", "learning_rate", "batch_size", "rank", "alpha", "top_layers", "dropout", "warmup_share",
                   "max_examples", "seed", "init_adapter", "model")


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_shipped_recipe_builds_and_keeps_its_run_inside_its_folder(path, tmp_path):
    configs = pipeline.stage_configs(pipeline.read_recipe(path), tmp_path / "run", str(path))
    assert set(configs) == {"evaluate", "sft", "sft_forms", "sft_letters", "rft_gold", "datagen", "rft", "rft_forms",
                            "rft_letters"}
    for name in ("sft", "sft_forms", "sft_letters", "rft_gold", "datagen", "rft", "rft_forms", "rft_letters"):
        config = configs[name]
        for field in ("output_dir", "init_adapter", "out", "adapter"):
            if getattr(config, field, None) is not None:
                assert (tmp_path / "run") in (tmp_path / getattr(config, field)).parents, (name, field)
    assert configs["rft"].train_file == configs["datagen"].out
    assert configs["rft_gold"].init_adapter == configs["sft"].output_dir
    assert configs["rft"].init_adapter == configs["datagen"].adapter == configs["rft_gold"].output_dir
    assert configs["rft_forms"].init_adapter == configs["rft"].output_dir and configs["rft_forms"].train_file == "forms"
    assert configs["rft_letters"].init_adapter == configs["rft_forms"].output_dir
    assert configs["rft_letters"].train_file == "letters"
    assert configs["rft_letters"].output_dir == str(tmp_path / "run" / "rft_model"), "the last round is the RFT adapter"
    assert configs["sft_forms"].init_adapter == configs["sft"].output_dir and configs["sft_forms"].train_file == "forms"
    assert configs["sft_letters"].init_adapter == configs["sft_forms"].output_dir
    assert configs["sft_letters"].train_file == "letters"
    assert configs["sft_letters"].output_dir == str(tmp_path / "run" / "sft_model"), "the last round is the SFT adapter"


def test_each_stage_reads_the_stages_whose_paths_its_config_names(tmp_path):
    configs = pipeline.stage_configs(pipeline.read_recipe(pipeline.recipe_path("full")), tmp_path / "run")
    assert {k: v for k, v in pipeline.stage_inputs(configs).items() if v} == {
        "sft_forms": {"sft"}, "sft_letters": {"sft_forms"}, "rft_gold": {"sft"}, "datagen": {"rft_gold"},
        "rft": {"rft_gold", "datagen"}, "rft_forms": {"rft"}, "rft_letters": {"rft_forms"}}


def test_shipped_recipes_are_small_and_full():
    assert [p.stem for p in RECIPES] == ["full", "small"]


def test_full_recipe_is_the_recipe_of_the_shipped_adapters(tmp_path):
    """The values the shipped adapters were trained with; a change here changes what `--budget full` trains."""
    run = tmp_path / "full"
    configs = pipeline.stage_configs(pipeline.read_recipe(pipeline.recipe_path("full")), run)
    assert configs["evaluate"] == pipeline.EvalConfig(split="test", max_questions=None, methods="sft,rft")
    assert configs["sft"] == SFTConfig(epochs=2, max_questions=300, train_file="shorthand", replay=14300,
                                       output_dir=str(run / "sft_round1_model"))
    assert configs["sft_forms"] == SFTConfig(learning_rate=1e-4, replay=2000, max_questions=300, train_file="forms",
                                             max_examples=1300, init_adapter=str(run / "sft_round1_model"),
                                             output_dir=str(run / "sft_forms_model"))
    assert configs["sft_letters"] == SFTConfig(learning_rate=1e-4, replay=1500, max_questions=300,
                                               train_file="letters", max_examples=600, init_adapter=str(run / "sft_forms_model"),
                                               output_dir=str(run / "sft_model"))
    assert configs["rft_gold"] == RFTConfig(max_questions=300, train_file="shorthand", replay=14300,
                                            init_adapter=str(run / "sft_round1_model"),
                                            output_dir=str(run / "rft_gold_model"))
    assert configs["datagen"] == DatagenConfig(skip_questions=10000, out=str(run / "rft_data.json"),
                                               adapter=str(run / "rft_gold_model"))
    assert configs["rft"] == RFTConfig(learning_rate=1e-4, max_questions=300, train_file=str(run / "rft_data.json"),
                                       init_adapter=str(run / "rft_gold_model"),
                                       output_dir=str(run / "rft_round1_model"))
    assert configs["rft_forms"] == RFTConfig(learning_rate=1e-4, replay=2000, max_questions=300, train_file="forms",
                                             init_adapter=str(run / "rft_round1_model"),
                                             output_dir=str(run / "rft_forms_model"))
    assert configs["rft_letters"] == RFTConfig(learning_rate=1e-4, replay=1500, max_questions=300, train_file="letters",
                                               init_adapter=str(run / "rft_forms_model"), output_dir=str(run / "rft_model"))
    for adapter, stage in (("sft", "sft_letters"), ("rft", "rft_letters")):
        shipped = json.loads((finetune.PACKAGE_DIR / f"{adapter}_model" / finetune.METADATA).read_text())["config"]
        for field in (*HYPERPARAMETERS, "train_file"):
            value = getattr(configs[stage], field)
            if field == "init_adapter" and value is not None:
                value = value.rsplit("/", 1)[-1]  # the shipped metadata names it by a path of its run
                shipped[field] = shipped[field].rsplit("/", 1)[-1]
            assert shipped[field] == value, (stage, field)


def test_small_recipe_values(tmp_path):
    configs = pipeline.stage_configs(pipeline.read_recipe(pipeline.recipe_path("small")), tmp_path)
    assert configs["evaluate"].max_questions == 100
    assert (configs["sft"].max_examples, configs["rft_gold"].max_examples, configs["rft"].learning_rate) == (3072, 1024, 1e-4)
    assert [getattr(configs["datagen"], f) for f in ("max_questions", "skip_questions", "oversample")] == [192, 1024, 8]
    trained = ("sft", "sft_forms", "sft_letters", "rft_gold", "rft", "rft_forms", "rft_letters")
    assert {configs[s].max_questions for s in trained} == {100}
    assert {(configs[s].max_examples, configs[s].replay, configs[s].learning_rate)
            for s in ("sft_forms", "rft_forms")} == {(256, 256, 1e-4)}
    assert {(configs[s].max_examples, configs[s].replay) for s in ("sft_letters", "rft_letters")} == {(128, 128)}


@pytest.mark.parametrize("text,message", [
    ("[sft]\nlearning_rate = -1.0\n", r"\[sft\]: learning_rate must be above 0"),
    ("[sft]\nbatch_size = 2.5\n", r"\[sft\]: batch_size must be a int"),
    ("[sft]\nlearnin_rate = 1.0\n", r"\[sft\]: no field learnin_rate in SFTConfig"),
    ("[rft]\noutput_dir = \"src/unitlm/rft_model\"\n", r"\[rft\]: output_dir is set by the pipeline"),
    ("[evaluation]\nsplit = \"test\"\n", "holds only the tables .*, not evaluation"),
    ("[datagen]\noversample = 0\n", r"\[datagen\]: oversample must be at least 1"),
    ("[evaluate\n", "cannot read the recipe"),
])
def test_a_bad_recipe_is_one_clear_error(tmp_path, run_cli, capsys, text, message):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    assert run_cli(["pipeline", "--recipe", recipe, "--run", tmp_path / "run"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "run").exists(), "a bad recipe starts nothing"


def test_unknown_budget_names_the_shipped_ones(run_cli, capsys):
    assert run_cli(["pipeline", "--budget", "huge"]) == 1
    assert "shipped recipes: full, small" in capsys.readouterr().err


@pytest.fixture()
def fake_stages(monkeypatch, fake_result):
    """Every stage function the pipeline calls, replaced by a recorder: no model, no training."""
    from unitlm import cot, datagen, rft, sft

    calls = []

    def record(name, value):
        def fake(*args, **kwargs):
            calls.append((name, args, kwargs))
            if isinstance(value, Exception):
                raise value
            return value
        return fake

    def install(fail=None):
        fakes = {(cot, "test_model"): fake_result(0.25), (sft, "train_model"): fake_result(0.5),
                 (sft, "test_model"): fake_result(0.5), (rft, "train_model"): fake_result(0.75),
                 (rft, "test_model"): fake_result(0.75),
                 (datagen, "generate_data"): {"entries": 3, "success_rate": 0.5}}
        for (module, function), value in fakes.items():
            name = f"{module.__name__.split('.')[-1]}.{function}"
            monkeypatch.setattr(module, function, record(name, RuntimeError("boom") if name == fail else value))
        calls.clear()
        return calls

    monkeypatch.setattr(report, "environment", lambda: {"python": "3", "cpus": 2})
    return install


def test_pipeline_runs_every_stage_once_into_the_run(tmp_path, fake_stages):
    calls = fake_stages()
    run = pipeline.run_pipeline(pipeline.recipe_path("small"), tmp_path / "run")
    assert [c[0] for c in calls] == ["cot.test_model", "sft.train_model", "sft.train_model", "sft.train_model",
                                     "sft.test_model", "rft.train_model", "datagen.generate_data", "rft.train_model",
                                     "rft.train_model", "rft.train_model", "rft.test_model"]
    assert calls[0][1] == (None, "test", 100)
    sft_config, sft_forms_config, letters_config = calls[1][1][0], calls[2][1][0], calls[3][1][0]
    gold_config, datagen_config, rft_config, forms_config, rft_letters_config = (calls[i][1][0] for i in range(5, 10))
    assert sft_config.output_dir == str(run / "sft_round1_model") and sft_config.max_examples == 3072
    assert sft_forms_config.init_adapter == sft_config.output_dir == gold_config.init_adapter
    assert sft_forms_config.output_dir == str(run / "sft_forms_model") and sft_forms_config.train_file == "forms"
    assert letters_config.init_adapter == sft_forms_config.output_dir and letters_config.train_file == "letters"
    assert letters_config.output_dir == str(run / "sft_model")
    assert gold_config.train_file == "train" and gold_config.output_dir == str(run / "rft_gold_model")
    assert datagen_config.adapter == gold_config.output_dir and datagen_config.out == str(run / "rft_data.json")
    assert rft_config.train_file == datagen_config.out and rft_config.output_dir == str(run / "rft_round1_model")
    assert forms_config.init_adapter == rft_config.output_dir and forms_config.output_dir == str(run / "rft_forms_model")
    assert rft_letters_config.init_adapter == forms_config.output_dir and rft_letters_config.train_file == "letters"
    assert rft_letters_config.output_dir == str(run / "rft_model")
    assert calls[4][1] == (str(run / "sft_model"), "test", 100)
    assert calls[10][1] == (str(run / "rft_model"), "test", 100), "each method is scored on its last round only"
    assert sorted(p.stem for p in (run / "stages").glob("*.done")) == sorted(pipeline.STAGES)
    assert sorted(p.stem for p in (run / "results").glob("*.json")) == ["cot", "rft", "sft"]
    assert json.loads((run / "results" / "sft.json").read_text())["log_dir"] == "sft_model_logs"
    done = {p.stem: json.loads(p.read_text())["result"] for p in (run / "stages").glob("*.done")}
    assert [done[s]["output_dir"] for s in ("sft", "sft_forms", "sft_letters", "rft_gold", "rft", "rft_forms",
                                            "rft_letters")] == [
        "sft_round1_model", "sft_forms_model", "sft_model", "rft_gold_model", "rft_round1_model", "rft_forms_model",
        "rft_model"]
    assert done["datagen"]["out"] == "rft_data.json" and "path" not in done["data"]["train"]
    assert json.loads((run / "recipe.json").read_text())["name"] == "small"
    assert "| rft | test |" in (run / "report.md").read_text()


def test_a_method_left_out_of_evaluate_is_not_scored(tmp_path, fake_stages):
    calls = fake_stages()
    recipe = tmp_path / "r.toml"
    recipe.write_text('[evaluate]\nmethods = "rft"\n')
    run = pipeline.run_pipeline(recipe, tmp_path / "run")
    assert [c[0] for c in calls] == ["sft.train_model", "sft.train_model", "sft.train_model", "rft.train_model",
                                     "datagen.generate_data", "rft.train_model", "rft.train_model", "rft.train_model",
                                     "rft.test_model"]
    assert sorted(p.stem for p in (run / "results").glob("*.json")) == ["rft"]
    assert "skipped" in json.loads((run / "stages" / "cot.done").read_text())["result"]


def test_an_unknown_method_is_one_clear_error(tmp_path, run_cli, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[evaluate]\nmethods = "sft,gpt"\n')
    assert run_cli(["pipeline", "--recipe", recipe, "--run", tmp_path / "run"]) == 1
    assert "unknown gpt" in capsys.readouterr().err


def test_pipeline_resumes_stage_by_stage(tmp_path, fake_stages):
    run, recipe = tmp_path / "run", pipeline.recipe_path("small")
    fake_stages(fail="datagen.generate_data")
    with pytest.raises(RuntimeError, match="boom"):
        pipeline.run_pipeline(recipe, run)
    assert sorted(p.stem for p in (run / "stages").glob("*.done")) == ["cot", "data", "rft_gold", "sft", "sft_forms",
                                                                        "sft_letters"]

    calls = fake_stages()
    pipeline.run_pipeline(recipe, run)
    assert [c[0] for c in calls] == ["datagen.generate_data", "rft.train_model", "rft.train_model", "rft.train_model",
                                     "rft.test_model"]

    calls = fake_stages()
    pipeline.run_pipeline(recipe, run)
    assert calls == [], "a finished run redoes nothing"

    (run / "stages" / "sft_letters.done").unlink()
    calls = fake_stages()
    pipeline.run_pipeline(recipe, run)
    assert [c[0] for c in calls] == ["sft.train_model", "sft.test_model"]

    (run / "stages" / "sft_forms.done").unlink()
    calls = fake_stages()
    pipeline.run_pipeline(recipe, run)
    assert [c[0] for c in calls] == ["sft.train_model", "sft.train_model", "sft.test_model"], \
        "a stage done again redoes the stages that read its adapter"
    assert [c[1][0].output_dir for c in calls[:2]] == [str(run / "sft_forms_model"), str(run / "sft_model")]


def test_pipeline_refuses_to_mix_recipes(tmp_path, fake_stages, capsys, run_cli):
    fake_stages()
    pipeline.run_pipeline(pipeline.recipe_path("small"), tmp_path / "run")
    assert run_cli(["pipeline", "--budget", "full", "--run", tmp_path / "run"]) == 1
    assert "was started with recipe 'small'" in capsys.readouterr().err
    edited = tmp_path / "small.toml"
    edited.write_text(pipeline.recipe_path("small").read_text().replace("oversample = 8", "oversample = 9"))
    assert run_cli(["pipeline", "--recipe", edited, "--run", tmp_path / "run"]) == 1
    assert "other values for its finished stages (datagen)" in capsys.readouterr().err


def test_a_resumed_run_may_change_what_only_unfinished_stages_use(tmp_path, fake_stages):
    """An edited [rft_forms] table and a changed forms split redo the stages that read it from the run's others."""
    fake_stages()
    run = pipeline.run_pipeline(pipeline.recipe_path("small"), tmp_path / "run")
    record = json.loads((run / "stages" / "data.done").read_text())
    record["result"]["forms"]["sha256"] = "0" * 16  # as if the forms split gained a part since
    (run / "stages" / "data.done").write_text(json.dumps(record))
    for stage in pipeline.READ_BY["forms"]:
        (run / "stages" / f"{stage}.done").unlink()
    edited = tmp_path / "small.toml"
    text = pipeline.recipe_path("small").read_text()
    edited.write_text(text.replace("[rft_forms]", "[rft_forms]\nseed = 3", 1))
    calls = fake_stages()
    pipeline.run_pipeline(edited, run)
    assert [c[0] for c in calls] == ["sft.train_model", "sft.train_model", "sft.test_model", "rft.train_model",
                                     "rft.train_model", "rft.test_model"], \
        "sft_letters reads sft_forms' adapter, rft_letters rft_forms': each done again after it"
    assert calls[3][1][0].seed == 3
    assert json.loads((run / "stages" / "data.done").read_text())["result"] == pipeline.stage_data(run, {})
    assert json.loads((run / "recipe.json").read_text())["recipe"]["rft_forms"]["seed"] == 3


@pytest.mark.parametrize("split", ["train", "forms", "letters"])
def test_pipeline_refuses_to_resume_a_run_of_other_splits(split, tmp_path, fake_stages, capsys, run_cli):
    fake_stages()
    run = pipeline.run_pipeline(pipeline.recipe_path("small"), tmp_path / "run")
    done = run / "stages" / "data.done"
    record = json.loads(done.read_text())
    record["result"][split]["sha256"] = "0" * 16
    done.write_text(json.dumps(record))
    calls = fake_stages()
    assert run_cli(["pipeline", "--budget", "small", "--run", run]) == 1
    assert f"trained on other splits ({split} changed" in capsys.readouterr().err and calls == []


def test_pipeline_stamps_each_adapter_with_the_command_that_reproduces_it(tmp_path, fake_stages, fake_result,
                                                                         monkeypatch):
    from unitlm import rft, sft

    def train_into_folder(config):
        Path(config.output_dir).mkdir(parents=True)
        (Path(config.output_dir) / finetune.METADATA).write_text(json.dumps({"stage": "sft"}))
        return fake_result(0.5)

    fake_stages()
    monkeypatch.setattr(sft, "train_model", train_into_folder)
    monkeypatch.setattr(rft, "train_model", train_into_folder)
    pipeline.run_pipeline(pipeline.recipe_path("full"), tmp_path / "run")
    for folder, stage in (("sft_round1_model", "sft"), ("sft_forms_model", "sft_forms"), ("sft_model", "sft_letters"),
                          ("rft_forms_model", "rft_forms"), ("rft_model", "rft_letters")):
        metadata = json.loads((tmp_path / "run" / folder / finetune.METADATA).read_text())
        assert metadata["reproduce"] == f"unitlm pipeline --budget full --run {tmp_path / 'run'}"
        assert metadata["pipeline_stage"] == stage


def test_reproduce_command_names_the_budget_or_the_recipe(tmp_path):
    full = pipeline.recipe_path("full")
    assert pipeline.reproduce_command(full, report.RUNS_DIR / "full") == "unitlm pipeline --budget full"
    assert pipeline.reproduce_command(tmp_path / "my.toml", report.RUNS_DIR / "my") == \
        f"unitlm pipeline --recipe {tmp_path / 'my.toml'} --run runs/my"
