"""report.py: the Markdown report, its plots, and the loss curves it reads from a run folder."""

import os

from unitlm import report


def test_report_builds_markdown_and_real_pngs(tmp_path, capsys, run_cli, fake_result):
    from matplotlib.image import imread
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "run"
    writer = SummaryWriter(str(run / "sft_model_logs"))
    for step in range(5):
        writer.add_scalar(report.LOSS_TAG, 2.0 / (step + 1), step)
    writer.close()
    report.write_result(run, "sft", fake_result(0.75), "test", log_dir="sft_model_logs")
    report.write_result(run, "cot", fake_result(0.25), "test")
    assert run_cli(["report", run]) == 0
    assert "| sft | test | 4 | 0.750" in capsys.readouterr().out
    text = (run / "report.md").read_text()
    assert text.index("| cot |") < text.index("| sft |"), "methods in pipeline order"
    for name in ("accuracy", "loss", "categories", "pairs"):
        assert f"plots/{name}.png" in text
        image = imread(run / "plots" / f"{name}.png")
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0
    assert "| torch |" in text and "| cpus |" in text and "| cpu |" in text and "| dtype |" in text


def test_loss_curve_is_the_latest_training_of_a_folder(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    folder = tmp_path / "sft_model_logs"
    for run, loss in enumerate((9.0, 1.0)):
        writer = SummaryWriter(str(folder), filename_suffix=f".{run}")
        for step in range(3):
            writer.add_scalar(report.LOSS_TAG, loss, step)
        writer.close()
    for path in folder.iterdir():  # the first training's file is the older one
        age = 1 if path.name.endswith(".0") else 0
        os.utime(path, (1000 - age, 1000 - age))
    steps, losses = report.loss_curves(tmp_path, [])["sft_model"]
    assert steps == [0, 1, 2] and losses == [1.0, 1.0, 1.0]


def test_log_dir_of_a_result_is_read_relative_to_the_run(tmp_path, fake_result):
    """A result names its logs relative to the run folder: found from any current folder."""
    from torch.utils.tensorboard import SummaryWriter

    run, elsewhere = tmp_path / "run", tmp_path / "outside"
    writer = SummaryWriter(str(elsewhere / "old_logs"))
    writer.add_scalar(report.LOSS_TAG, 3.0, 0)
    writer.close()
    record = report.write_result(run, "sft", fake_result(0.5), "test", log_dir="../outside/old_logs")
    assert list(report.loss_curves(run, [record])) == ["old"]


def test_report_without_results_is_a_clear_error(tmp_path, capsys, run_cli):
    assert run_cli(["report", tmp_path]) == 1
    assert "unitlm pipeline" in capsys.readouterr().err
