"""Integrity: answers come from generation, bad input never crashes, a killed run loses nothing.

All tests use the tiny model from conftest.py; the two subprocess tests train it for a moment.
"""

import builtins
import contextlib
import hashlib
import io
import json
import math
import os
import pathlib
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from unitlm import base_llm, data, finetune, sft, units
from unitlm.base_llm import MAX_QUESTION_CHARS, format_example, parse_answer
from unitlm.data import DataError, Dataset

# JSON files a model or adapter folder legitimately holds; any other *.json is treated as data.
MODEL_JSON = {
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "vocab.json", "chat_template.json",
    "adapter_config.json", finetune.METADATA,
}


# ---------------------------------------------------------------- honesty


def _stub_generation(llm, monkeypatch, texts):
    """Replace generation with canned texts (one per prompt, in order); returns the prompts seen."""
    seen = []

    def fake(prompts, *args, **kwargs):
        seen.extend(prompts)
        return [texts[i % len(texts)] for i in range(len(prompts))]

    monkeypatch.setattr(llm, "batched_generate", fake)
    return seen


@pytest.mark.parametrize(
    "text,expected",
    [
        ("<answer>6000</answer>", 6000.0),
        ("<answer>3 * 5280</answer>", 15840.0),
        ("1 mile = 5280 foot. <answer>2.5 * 5280</answer>", 13200.0),
        ("<answer>1,234.5</answer>", 1234.5),
        ("<answer>-2.5e3</answer>", -2500.0),
        ("<answer>(212 - 32) / 1.8</answer>", 100.0),
        ("<answer>7", 7.0),
    ],
)
def test_stub_text_flows_unchanged_into_answer(tiny_llm, monkeypatch, text, expected):
    seen = _stub_generation(tiny_llm, monkeypatch, [text])
    assert tiny_llm.answer("How many feet are in 2.5 miles?") == [pytest.approx(expected)]
    assert seen == [tiny_llm.format_prompt("How many feet are in 2.5 miles?")]


def test_same_question_different_text_different_answer(tiny_llm, monkeypatch):
    question = "How many gram are there per 6 kg?"
    answers = []
    for text in ["<answer>6000</answer>", "<answer>6 * 1000</answer>", "<answer>17</answer>", "no answer"]:
        _stub_generation(tiny_llm, monkeypatch, [text])
        answers.append(tiny_llm.answer(question)[0])
    assert answers[:3] == [6000.0, 6000.0, 17.0]
    assert math.isnan(answers[3])


def test_answer_keeps_question_order_with_stub(tiny_llm, monkeypatch):
    texts = [f"<answer>{i} * 10</answer>" for i in range(5)]
    _stub_generation(tiny_llm, monkeypatch, texts)
    assert tiny_llm.answer(*[f"q{i}?" for i in range(5)]) == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_real_answer_is_parse_of_real_generation(tiny_llm):
    questions = ["How many feet are in 3 miles?", "Convert 5 gallons to liters."]
    texts = tiny_llm.batched_generate([tiny_llm.format_prompt(q) for q in questions])
    expected = [parse_answer(t) for t in texts]
    got = tiny_llm.answer(*questions)
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, expected, strict=True))


def _is_data_file(path: Path) -> bool:
    splits = data.SPLITS_DIR.resolve()
    resolved = path.resolve()
    if resolved == splits or splits in resolved.parents:
        return True
    return path.suffix == ".json" and path.name not in MODEL_JSON


@contextlib.contextmanager
def watch_opens():
    """Record every file opened through open/io.open/Path.read_text/Path.read_bytes."""
    opened: list[Path] = []
    real_open, real_io_open = builtins.open, io.open
    real_read_text, real_read_bytes = pathlib.Path.read_text, pathlib.Path.read_bytes

    def note(file):
        if isinstance(file, (str, bytes, os.PathLike)):
            opened.append(Path(os.fsdecode(file)))

    def spy_open(file, *args, **kwargs):
        note(file)
        return real_open(file, *args, **kwargs)

    def spy_io_open(file, *args, **kwargs):
        note(file)
        return real_io_open(file, *args, **kwargs)

    def spy_read_text(self, *args, **kwargs):
        note(self)
        return real_read_text(self, *args, **kwargs)

    def spy_read_bytes(self, *args, **kwargs):
        note(self)
        return real_read_bytes(self, *args, **kwargs)

    patches = [(builtins, "open", spy_open), (io, "open", spy_io_open),
               (pathlib.Path, "read_text", spy_read_text), (pathlib.Path, "read_bytes", spy_read_bytes)]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, spy in patches:
        setattr(owner, name, spy)
    try:
        yield opened
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def data_files(opened: list[Path]) -> list[str]:
    return [str(p) for p in opened if _is_data_file(p)]


def test_open_watch_catches_data_reads(tmp_path):
    """The watch itself works: reading a split or a data JSON is caught, model JSON is not."""
    (tmp_path / "mine.json").write_text("[]")
    (tmp_path / "config.json").write_text("{}")
    with watch_opens() as opened:
        Dataset("valid")
        json.loads((tmp_path / "config.json").read_text())
        with open(tmp_path / "mine.json") as handle:
            handle.read()
    found = data_files(opened)
    assert any("valid.json" in p for p in found)
    assert str(tmp_path / "mine.json") in found
    assert str(tmp_path / "config.json") not in found


QUESTIONS = ["How many gram are there per 6 kg?", "Express 4 centuries as a quantity of week."]


def _exercise(llm):
    llm.answer(*QUESTIONS)
    llm.generate(llm.format_prompt(QUESTIONS[0]))
    llm.batched_generate([llm.format_prompt(q) for q in QUESTIONS])
    llm.batched_generate([llm.format_prompt(QUESTIONS[0])], num_return_sequences=2, temperature=1.0, seed=0)


def test_base_llm_reads_no_data_file(tiny_model_dir):
    with watch_opens() as opened:
        llm = base_llm.BaseLLM(tiny_model_dir, device="cpu")
        _exercise(llm)
    assert data_files(opened) == []


@pytest.fixture(scope="module")
def good_adapter(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("integrity") / "sft_model"
    pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 9)]
    config = finetune.TrainConfig(model=tiny_model_dir, epochs=1, batch_size=4)
    finetune.train_adapter(pairs, out, config, {"stage": "sft"})
    return out


def test_sft_load_and_answer_read_no_data_file(good_adapter, tiny_model_dir):
    with watch_opens() as opened:
        llm = sft.load(good_adapter, model=tiny_model_dir)
    assert data_files(opened) == []
    assert any(good_adapter in p.parents for p in opened), "loading should read the adapter folder"
    with watch_opens() as opened:
        _exercise(llm)
    assert data_files(opened) == []
    assert opened == [], f"answering opened files: {opened}"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \n\t  ",
        "¿Cuántos gramos hay en 6 kilogramos?",
        "6公斤等于多少克？",
        "Сколько метров в 3 километрах?",
        "🙂🙂🙂 → ?",
        "How many grams are in a kilogram?",
        "\x00\x1b[31m<answer>5</answer>",
    ],
)
def test_odd_questions_give_a_float(tiny_llm, question):
    answers = tiny_llm.answer(question)
    assert len(answers) == 1 and isinstance(answers[0], float)


@pytest.mark.parametrize("question", ["", "   \n\t  "])
def test_empty_question_is_nan_not_a_guess(tiny_llm, monkeypatch, question):
    _stub_generation(tiny_llm, monkeypatch, ["<answer>5</answer>"])
    assert math.isnan(tiny_llm.answer(question)[0])


def test_long_question_truncated_with_warning(tiny_llm, monkeypatch):
    question = "How many feet are in 3 miles? " + "x" * 10_000
    seen = _stub_generation(tiny_llm, monkeypatch, ["<answer>15840</answer>"])
    with pytest.warns(UserWarning, match="truncated"):
        assert tiny_llm.answer(question) == [15840.0]
    assert len(seen[0]) <= len(format_example("")) + MAX_QUESTION_CHARS


def test_long_question_runs_on_the_model(tiny_llm):
    with pytest.warns(UserWarning, match="truncated"):
        answers = tiny_llm.answer("How many feet are in 3 miles? " + "yes " * 2500)
    assert isinstance(answers[0], float)


@pytest.mark.parametrize("text", ["<answer>1e400</answer>", "<answer>-1e400</answer>", "<answer>1e400 * 2</answer>",
                                  "<answer>1e308 * 1e308</answer>", "<answer>1 / 0</answer>"])
def test_overflowing_answers_are_nan_through_answer(tiny_llm, monkeypatch, text):
    _stub_generation(tiny_llm, monkeypatch, [text])
    assert math.isnan(tiny_llm.answer("How big?")[0])


@pytest.mark.parametrize(
    "source,target,fragment",
    [
        ("furlongz", "meter", "unknown unit 'furlongz'"),
        ("meter", "", "unknown unit ''"),
        ("kilogram", "meter", "cannot convert mass"),
    ],
)
def test_unknown_unit_clear_message(source, target, fragment):
    with pytest.raises(units.UnknownUnit, match=fragment) as error:
        units.convert(1.0, source, target)
    if "unknown unit" in fragment:
        assert "known units:" in str(error.value)


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"", "not a JSON file"),
        (b"\xff\xfe\x00garbage", "not a JSON file"),
        (b'["just a string"]', "entry 0"),
        (b'[{"question": "q", "answer": 1}]', "entry 0"),
        (b'[["q", true]]', "entry 0"),
        (b'[["q", null]]', "entry 0"),
        (b'[["q", Infinity]]', "entry 0"),
        (b'[["ok", 1], ["q", -Infinity]]', "entry 1"),
        (b'[["   ", 1]]', "entry 0"),
        (b'[["q", 1, "why", "extra"]]', "entry 0"),
        (b'[["q", 1, 5]]', "entry 0"),
    ],
)
def test_more_malformed_files(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment) as error:
        Dataset(path)
    assert str(path) in str(error.value)


def test_directory_is_not_a_data_file(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        Dataset(tmp_path)


def test_broken_tags_sidecar_is_clear_error(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q", 1]]))
    (tmp_path / "d.tags.json").write_text("{not json")
    with pytest.raises(DataError, match="d.tags.json"):
        Dataset(path)


def _unwritable_cache(kind: str, tmp_path: Path) -> Path:
    if kind == "read-only dir":
        root = tmp_path / "ro"
        root.mkdir()
        root.chmod(0o555)
        if os.access(root, os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes (the 'file' case covers it)")
        return root
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    return blocker


@pytest.mark.parametrize("kind", ["read-only dir", "file in the way"])
def test_unwritable_cache_warns_and_goes_on(tiny_llm, tmp_path, monkeypatch, kind):
    monkeypatch.setenv("XDG_CACHE_HOME", str(_unwritable_cache(kind, tmp_path)))
    target = base_llm.cache_root() / "models" / "tiny"
    with pytest.warns(UserWarning, match="not writable"):
        assert base_llm._save_atomically(tiny_llm.model, tiny_llm.tokenizer, target) is False
    assert not target.exists()


def test_cache_write_failure_midway_leaves_no_half_cache(tiny_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = base_llm.cache_root() / "models" / "tiny"

    def no_space(path, *args, **kwargs):
        Path(path, "model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tiny_llm.model, "save_pretrained", no_space)
    with pytest.warns(UserWarning, match="could not write the model cache"):
        assert base_llm._save_atomically(tiny_llm.model, tiny_llm.tokenizer, target) is False
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "a temporary cache folder was left behind"


# ---------------------------------------------------------------- nothing lost


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_write_json_atomic_keeps_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "d.json"
    data.write_json_atomic(path, [["old", 1]])

    def broken_dump(value, handle, **kwargs):
        handle.write('[["new", ')
        raise error

    monkeypatch.setattr(data.json, "dump", broken_dump)
    with pytest.raises(type(error)):
        data.write_json_atomic(path, [["new", 2]])
    monkeypatch.undo()
    assert json.loads(path.read_text()) == [["old", 1]]
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"], "a temporary file was left behind"


TRAIN_SCRIPT = """
import os, sys, time
from pathlib import Path
from unitlm import finetune

model_dir, out, epochs, hook = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if hook == "swap":
    # Stop for good in the middle of swapping the new adapter in: the worst moment to die.
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(".old"):
            print("IN-SWAP", flush=True)
            time.sleep(600)
    os.replace = replace
pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 33)]
config = finetune.TrainConfig(model=model_dir, epochs=epochs, batch_size=4, seed=1)
finetune.train_adapter(pairs, out, config, {"stage": "sft"})
print("FINISHED", flush=True)
"""


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _train_and_kill(tiny_model_dir, out: Path, epochs: float, hook: str, marker: bytes, timeout: float = 240):
    """Start training in a subprocess, SIGKILL it once `marker` shows in its output; returns the output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", textwrap.dedent(TRAIN_SCRIPT), tiny_model_dir, str(out), str(epochs), hook]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while marker not in output:
            if time.monotonic() > deadline:
                pytest.fail(f"no {marker!r} within {timeout} s: {output[-2000:]!r}")
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    proc.wait()
                    pytest.fail(f"training exited ({proc.returncode}) before {marker!r}: {output[-2000:]!r}")
                output += chunk
        assert b"FINISHED" not in output, "training finished before it could be killed"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return output


def _install_old_adapter(good_adapter, tmp_path) -> Path:
    import shutil

    out = tmp_path / "sft_model"
    shutil.copytree(good_adapter, out)
    return out


def test_sigkill_mid_training_keeps_old_adapter(good_adapter, tiny_model_dir, tmp_path):
    out = _install_old_adapter(good_adapter, tmp_path)
    before = _digest(out)
    _train_and_kill(tiny_model_dir, out, epochs=2000, hook="none", marker=b"loss=")
    assert _digest(out) == before
    llm = sft.load(out, model=tiny_model_dir)
    assert isinstance(llm.answer("Convert 3 km to m.")[0], float)


def test_sigkill_while_swapping_adapter_keeps_an_adapter(good_adapter, tiny_model_dir, tmp_path):
    out = _install_old_adapter(good_adapter, tmp_path)
    _train_and_kill(tiny_model_dir, out, epochs=0.125, hook="swap", marker=b"IN-SWAP")
    llm = sft.load(out, model=tiny_model_dir)
    assert isinstance(llm.answer("Convert 3 km to m.")[0], float)


def test_cache_is_keyed_by_content_not_by_path(tmp_path):
    """The same GGUF installed by two venvs shares one converted copy; other content gets its own."""
    from unitlm.base_llm import _cache_dir_for

    for name, content in (("a", b"same weights"), ("b", b"same weights"), ("c", b"other weights")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.gguf").write_bytes(content)
    assert _cache_dir_for(str(tmp_path / "a"), "m.gguf") == _cache_dir_for(str(tmp_path / "b"), "m.gguf")
    assert _cache_dir_for(str(tmp_path / "a"), "m.gguf") != _cache_dir_for(str(tmp_path / "c"), "m.gguf")
