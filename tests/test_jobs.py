"""The job runner of the demo and the studies (mcl_mm/experiments/jobs.py)."""
import sys

import pytest

from mcl_mm.experiments.jobs import Job, run_jobs


def test_jobs_run_dependencies_first_and_a_plan_that_cannot_finish_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('MCL_MM_NO_ZYGOTE', '1')
    order = tmp_path / 'order.txt'
    write = f"open({str(order)!r}, 'a').write('{{}}\\n')"
    jobs = [
        Job('b', [sys.executable, '-c', write.format('b')], 1.0, deps=['a']),
        Job('a', [sys.executable, '-c', write.format('a')], 1.0),
    ]
    run_jobs(jobs, str(tmp_path / 'logs'), str(tmp_path), 2, 'test')
    assert order.read_text().split() == ['a', 'b']
    assert '[test] done b | 2/2 jobs' in capsys.readouterr().out
    # A job waiting for a job the plan does not hold would wait forever: it is named instead.
    stuck = [Job('c', [sys.executable, '-c', 'pass'], 1.0, deps=['extract/mcl/s0'])]
    with pytest.raises(SystemExit, match=r"wait for jobs that are not in the plan: \{'c': \['extract/mcl/s0'\]\}"):
        run_jobs(stuck, str(tmp_path / 'logs'), str(tmp_path), 2, 'test')
