"""The main job, ``python -m sklearn_mtml``: options, tables, files written."""

import subprocess
import sys

import pytest

from sklearn_mtml._demo import main


def test_help_documents_the_options():
    out = subprocess.run([sys.executable, "-m", "sklearn_mtml", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--dataset", "--mode", "--device", "--output", "--no-neural"):
        assert option in out


def test_school_demo_prints_the_table_and_writes_results(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    assert main(["--dataset", "school", "--no-neural", "--output", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    for model in ("pooled ridge + school intercept", "MultiTaskRidgeCV"):
        assert model in printed
    assert "results and plots in" in printed
    written = {p.suffix for p in out_dir.iterdir()}
    assert ".csv" in written and ".png" in written


def test_bad_option_is_an_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "nope"])
    assert exit_info.value.code == 2
    assert "--dataset" in capsys.readouterr().err
