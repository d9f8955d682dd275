"""The job runner of the demo and the studies (mcl_mm/experiments/jobs.py)."""
import os
import signal
import subprocess
import sys
import time

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


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()[0] != 'Z'  # a zombie has already exited
    except FileNotFoundError:
        return False


def test_sigterm_stops_the_runner_and_kills_its_running_jobs(tmp_path):
    # `kill <runner>` used to end only the runner; its jobs trained on as orphans.
    pid_file = tmp_path / 'job.pid'
    job = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    runner = (f'import sys; from mcl_mm.experiments.jobs import Job, run_jobs; '
              f'run_jobs([Job("sleeper", [sys.executable, "-c", {job!r}], 1.0)], {str(tmp_path / "logs")!r}, '
              f'{str(tmp_path)!r}, 1, "test")')
    proc = subprocess.Popen([sys.executable, '-c', runner],
                            env=dict(os.environ, MCL_MM_NO_ZYGOTE='1'),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    job_pid = int(pid_file.read_text())
    assert _alive(job_pid)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1 and 'stopped by SIGTERM' in out and '--skip-finished resumes' in out
    deadline = time.time() + 10
    while _alive(job_pid) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(job_pid)
