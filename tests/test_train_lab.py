"""The training lab's library: sequence tasks, the step-at-a-time Trainer, LabRun's events and controls,
devices, and positions "none"."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from models.config import GPTConfig
from models.devices import resolve_device
from models.training.lab import Control, LabRun, LabSettings, make_task, resolved
from models.training.sequences import KINDS, SequenceTask, exact_matches, induction_score
from models.training.settings import TrainSettings
from models.training.trainer import Trainer


@pytest.mark.parametrize(
    ("name", "question", "line"),
    [
        ("copy", "31415926", "31415926>31415926\n"),
        ("reverse", "31415926", "31415926>62951413\n"),
        ("sort", "31415926", "31415926>11234569\n"),
        ("induction", "kbhadmcfgjoe", "kbhadmcfgjoekbhadmcfgjoe\n"),
    ],
)
def test_sequence_lines_and_scored_positions(name, question, line):
    task = SequenceTask(name)
    assert task.line(question) == line
    ids, targets = task.arrays([question])
    assert ids.shape == (1, len(line) - 1) == (1, task.block_size)
    decoded = task.tokenizer.decode(targets[0][targets[0] != -1].tolist())
    # the answer after '>' (or the second copy from its second letter), the newline included
    assert decoded == (line[len(question) + 1 :] if name != "induction" else question[1:] + "\n")


def test_questions_are_drawn_from_the_seeded_generator():
    task = SequenceTask("induction")
    a = [task.question(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1] and len(set(a[0])) == KINDS["induction"].length  # distinct letters
    with pytest.raises(ValueError, match="sequence task must be one of"):
        SequenceTask("shuffle")


def test_exact_match_needs_every_scored_position():
    targets = np.array([[-1, 2, 3], [-1, 2, 3]])
    logits = np.zeros((2, 3, 4))
    logits[0, 1, 2] = logits[0, 2, 3] = 1  # row 0 right at both scored positions
    logits[1, 1, 2] = logits[1, 2, 0] = 1  # row 1 wrong at the last
    logits[:, 0, 1] = 1  # the unscored position does not count
    assert exact_matches(logits, targets) == (1, 2)


def test_induction_score_finds_the_head_that_looks_after_the_earlier_copy():
    n, T = 3, 6
    attention = np.full((2, 2, T, T), 0.0)
    for q in range(n, 2 * n):
        attention[1, 0, q, q - n + 1] = 0.9  # layer 1, head 0 is the induction head
        attention[0, 1, q, q] = 1.0
    score, layer, head = induction_score(attention, n)
    assert (layer, head) == (1, 0) and score == pytest.approx(0.9)


def test_trainer_same_seed_same_curve_step_for_step():
    def curve(seed):
        task = SequenceTask("copy")
        config = task.config("gpt", "tiny", {"n_layer": 1, "n_head": 2, "n_embd": 16})
        trainer = Trainer(config, TrainSettings(batch_size=8, max_steps=5, warmup=2, seed=seed), task)
        return [trainer.step().loss for _ in range(5)]

    assert curve(3) == curve(3)
    assert curve(3) != curve(4)


def test_trainer_reports_grad_norm_lr_and_tokens():
    task = SequenceTask("reverse")
    config = task.config("gpt", "tiny", {})
    s = TrainSettings(batch_size=4, max_steps=10, warmup=5, lr=1e-2, grad_clip=0.0)
    trainer = Trainer(config, s, task)
    first = trainer.step()
    assert first.step == 1 and first.lr == pytest.approx(1e-2 / 5)
    assert first.grad_norm > 0 and first.tokens == 4 * 9  # eight digits and the newline per row
    measured = trainer.evaluate(("val",))
    assert set(measured) == {"val_loss", "val_accuracy"}


def events_of(settings: LabSettings, control: Control | None = None, **kw):
    seen: list[tuple[str, dict]] = []
    run = LabRun(settings, lambda e, d: seen.append((e, d)), control, **kw)
    model = run.run()
    return seen, model


def test_a_lab_run_emits_start_steps_evals_snapshots_and_done():
    seen, model = events_of(LabSettings(task="reverse", n_layer=2, n_head=2, n_embd=32, steps=10))
    names = [e for e, _ in seen]
    assert names[0] == "start" and names[-1] == "done"
    assert names.count("step") == 10 and names.count("snapshot") == names.count("eval") >= 2
    steps = [d["step"] for e, d in seen if e == "step"]
    assert steps == list(range(1, 11))
    snap = next(d for e, d in seen if e == "snapshot")
    T = SequenceTask("reverse").block_size
    assert np.asarray(snap["attention"]).shape == (2, 2, T, T)
    assert len(snap["queries"]) == T and isinstance(snap["sample"], str)
    rows = np.asarray(snap["attention"]).sum(-1)
    np.testing.assert_allclose(rows, 1.0, atol=0.01)  # rounded weights, each row still sums to one
    done = seen[-1][1]
    assert done["reason"] == "finished" and "accuracy" in done["metrics"]
    assert model.card["task"] == "reverse" and model.card["stop"] == ["\n"] if "stop" in model.card else True
    assert set(model.params) >= {"transformer.wte.weight"}


def test_the_default_reverse_run_learns():
    """Not a timing test: the default settings (2 layers, 2 heads, width 64, batch 64) reach 95 %
    held-out exact match within 200 steps (the default run takes 400)."""
    seen, _ = events_of(LabSettings(task="reverse", steps=200))
    assert seen[-1][1]["metrics"]["accuracy"] >= 0.95


def test_lstm_runs_have_no_attention_but_a_sample():
    seen, _ = events_of(LabSettings(task="copy", arch="lstm", n_embd=16, steps=3))
    snap = next(d for e, d in seen if e == "snapshot")
    assert snap["attention"] is None and isinstance(snap["sample"], str)


def test_pause_step_and_stop_from_another_thread():
    control = Control()
    control.pause()
    seen: list[tuple[str, dict]] = []
    run = LabRun(LabSettings(task="copy", n_embd=16, steps=1000), lambda e, d: seen.append((e, d)), control)
    thread = threading.Thread(target=run.run)
    thread.start()
    control.step()
    control.step()
    for _ in range(200):
        if sum(e == "step" for e, _ in seen) == 2:
            break
        threading.Event().wait(0.05)
    assert sum(e == "step" for e, _ in seen) == 2  # paused: two single steps, then nothing
    control.stop()
    thread.join(30)
    assert seen[-1][0] == "done" and seen[-1][1]["reason"] == "stopped"


def test_a_run_stops_at_its_time_cap():
    seen, _ = events_of(LabSettings(task="copy", n_embd=16, steps=5000), max_seconds=0.5)
    assert seen[-1][1]["reason"] == "time" and seen[-1][1]["step"] < 5000


def test_lab_settings_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="task numbers trains"):
        make_task("numbers", "lstm")
    with pytest.raises(ValueError, match="task must be one of"):
        make_task("poetry", "gpt")
    assert resolved(LabSettings(task="numbers")).arch == "encoder-decoder"
    with pytest.raises(ValueError, match="not there"):
        make_task("shakespeare", "gpt", text=__import__("pathlib").Path("/nonexistent/text.txt"))


def test_devices():
    assert resolve_device("auto") == resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available on this machine"):
            resolve_device("cuda")


def test_no_positions_means_order_blind_attention():
    """With pos "none", one attention layer sees a set, not a sequence: the last position's logits do
    not change when the tokens before it are shuffled (with more layers the causal mask leaks order)."""
    from models.architectures import architecture

    config = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16, pos="none")
    model = architecture("gpt").build(config, None, "numpy", 0)
    a = np.array([[1, 2, 3, 4, 5]])
    b = np.array([[3, 1, 4, 2, 5]])
    np.testing.assert_allclose(model.forward(a)[0, -1], model.forward(b)[0, -1], atol=1e-6)  # float32 sums
    learned = architecture("gpt").build(config.replace(pos="learned"), None, "numpy", 0)
    assert not np.allclose(learned.forward(a)[0, -1], learned.forward(b)[0, -1])


def test_playground_train_learns_a_sequence_task(tmp_path):
    from server.cli import main

    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--task",
            "copy",
            "--preset",
            "tiny",
            "--max-steps",
            "20",
            "--eval-interval",
            "10",
            "--batch-size",
            "8",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and (out / "export" / "model.safetensors").is_file()
    assert "val_accuracy" in (out / "metrics.jsonl").read_text()


def test_playground_train_refuses_a_missing_device(tmp_path, capsys):
    from server.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["train", "--task", "copy", "--device", "cuda", "--out", str(tmp_path / "r")])
    assert code != 0
    assert "not available on this machine" in capsys.readouterr().err
