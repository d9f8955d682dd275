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


def test_only_folders_we_stamped_are_ever_deleted(tmp_path, monkeypatch):
    """A job's work dir, a --out folder and the generated data are replaced only when our stamp is in them (or they
    are empty); a folder of the user's is refused in one line naming it, before any job starts, and kept."""
    from mcl_mm.utils.errors import ToolInputError
    from mcl_mm.utils.owned_folders import STAMP, claim_folder, replace_folder
    monkeypatch.setenv('MCL_MM_NO_ZYGOTE', '1')
    users = tmp_path / 'mine'
    users.mkdir()
    (users / 'model.pth').write_text('a model the user keeps here')
    for call in (lambda: replace_folder(str(users), 'demo'), lambda: claim_folder(str(users), 'demo')):
        with pytest.raises(ToolInputError, match=f'{users} exists and holds files mcl_mm did not write'):
            call()
    assert (users / 'model.pth').read_text() == 'a model the user keeps here' and not (users / STAMP).exists()
    marker = tmp_path / 'ran'
    jobs = [
        Job('first', [sys.executable, '-c', f'open({str(marker)!r}, "w")'], 1.0, work_dir=str(tmp_path / 'w1')),
        Job('second', [sys.executable, '-c', 'pass'], 1.0, work_dir=str(users))
    ]
    with pytest.raises(ToolInputError, match='mine exists'):
        run_jobs(jobs, str(tmp_path / 'logs'), str(tmp_path), 1, 'test')
    assert not marker.exists()  # refused before the first job started
    # Ours (stamped by an earlier run) is replaced; an empty folder is taken.
    ours = replace_folder(str(tmp_path / 'ours'), 'demo')
    (tmp_path / 'ours' / 'old.log').write_text('x')
    replace_folder(ours, 'demo')
    assert os.listdir(ours) == [STAMP]
    (tmp_path / 'empty').mkdir()
    assert claim_folder(str(tmp_path / 'empty'), 'demo') and (tmp_path / 'empty' / STAMP).exists()
    with pytest.raises(ToolInputError, match='is a file'):
        claim_folder(str(users / 'model.pth'), 'demo')


@pytest.mark.parametrize('tool, args', [('demo.py', ['--quick']), ('study.py', ['--quick']),
                                        ('study.py', ['--quick', '--transfer'])])
def test_the_demo_and_the_studies_refuse_a_folder_of_the_users(tmp_path, tool, args):
    from helpers import run_tool
    users = tmp_path / 'results'
    users.mkdir()
    (users / 'results.md').write_text('my own notes')
    code, out = run_tool(tool, *args, '--out', users, '--workdir', tmp_path, expect_ok=False)
    assert code != 0 and 'Traceback' not in out and f'{users} exists and holds files' in out, out[-3000:]
    assert os.listdir(users) == ['results.md'] and (users / 'results.md').read_text() == 'my own notes'
    if tool == 'demo.py':  # the generated data's folder: refused when it holds the user's files
        data = tmp_path / 'data' / 'demo'
        data.mkdir(parents=True)
        (data / 'keep.txt').write_text('mine')
        code, out = run_tool(tool, *args, '--out', tmp_path / 'new', '--workdir', tmp_path, expect_ok=False)
        assert code != 0 and f'{data} exists and holds files' in out, out[-3000:]
        assert os.listdir(data) == ['keep.txt']


@pytest.mark.parametrize('option', ['--seeds', '--jobs'])
@pytest.mark.parametrize('value', ['0', '-2', 'two'])
def test_counts_below_one_are_refused_by_the_demo_and_the_study(tmp_path, option, value):
    from helpers import run_tool
    for tool in ('demo.py', 'study.py'):
        code, out = run_tool(tool, '--quick', option, value, '--out', tmp_path / 'o', expect_ok=False)
        assert code == 2 and f'argument {option}' in out and 'Traceback' not in out, out[-2000:]
        assert not (tmp_path / 'o').exists()
