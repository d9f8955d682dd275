"""Running a plan of tools/*.py jobs (dependencies first, a few at a time) with tagged progress and an ETA.

Used by the demo and the studies: each job is an ordinary tools/train.py (or extract/test) command,
so every run can be repeated by hand from its logged command line.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from mcl_mm.utils.owned_folders import refuse_users_folder, replace_folder

PROGRESS = re.compile(r'(Epoch|Iter)\((train|val|test)\)|Traceback|Error')


@dataclass
class Job:
    """One command of a plan.

    Args:
        tag (str): Unique name, also the log's name (``pretrain/mcl/s0`` -> ``pretrain_mcl_s0.log``).
        cmd (list[str]): ``[sys.executable, 'tools/<script>.py', *args]``.
        cost (float): Relative estimate of its time, for the ETA.
        deps (list[str]): Tags that must have finished first. Defaults to [].
        work_dir (str): Wiped before the job starts, so results never mix with an earlier run's. Defaults to ''.
    """
    tag: str
    cmd: List[str]
    cost: float
    log: str = ''
    deps: List[str] = field(default_factory=list)
    work_dir: str = ''


class _Processes:
    """Starts jobs as children of a zygote (one interpreter that imported the stack once, see
    :mod:`mcl_mm.utils.zygote`), or as new interpreters where ``MCL_MM_NO_ZYGOTE=1``."""

    def __init__(self, log_dir: str):
        self.zygote = None
        self.popen = {}
        if os.environ.get('MCL_MM_NO_ZYGOTE') != '1':
            from mcl_mm.utils.zygote import Zygote
            os.makedirs(log_dir, exist_ok=True)
            self.zygote = Zygote(osp.join(log_dir, 'zygote.log'), wait=False)

    def start(self, job: Job, cwd: str, env: dict) -> int:
        if self.zygote is not None and job.cmd[0] == sys.executable:
            return self.zygote.start(job.cmd[1:], cwd, env, job.log)
        with open(job.log, 'a') as log:
            proc = subprocess.Popen(
                job.cmd,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.popen[proc.pid] = proc
        return proc.pid

    def ended(self) -> List[Tuple[int, int]]:
        ended = self.zygote.ended(timeout=0.2) if self.zygote is not None else []
        if self.zygote is None:
            time.sleep(0.2)
        for pid, proc in list(self.popen.items()):
            if proc.poll() is not None:
                ended.append((pid, proc.returncode))
                del self.popen[pid]
        return ended

    def kill(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()


def start_processes(log_dir: str) -> _Processes:
    """Start the interpreter the jobs will be forked from now, so that its imports overlap the caller's own work
    (generating data); hand it to :func:`run_jobs`."""
    return _Processes(log_dir)


def run_jobs(jobs: List[Job],
             log_dir: str,
             cwd: str,
             parallel: int,
             name: str,
             processes: Optional[_Processes] = None) -> None:
    """Run ``jobs`` up to ``parallel`` at a time (each with cores / parallel threads), dependencies first, the
    ready job with the longest chain of work behind it first (list order among equals); print each job's
    progress lines with its tag and an ETA; on the first failure stop the others and exit with the failed job's
    log. Ctrl-C stops every job too. ``processes``: from :func:`start_processes` (closed here); default: started
    here when there are jobs."""
    for job in jobs:  # before any job starts: a folder of the user's in the plan is refused, not found half-way
        if job.work_dir:
            refuse_users_folder(job.work_dir, f'job {job.tag}')
    os.makedirs(log_dir, exist_ok=True)
    threads = str(max(1, (os.cpu_count() or 2) // parallel))
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED='1')
    rank = _critical_path(jobs)
    pending, running, done = sorted(jobs, key=lambda j: -rank[j.tag]), {}, set()  # running: pid -> [job, offset]
    total_cost, done_cost, start = sum(j.cost for j in jobs), 0.0, time.time()
    processes = processes or (_Processes(log_dir) if jobs else None)
    previous_handler = _stop_on_sigterm(name)
    try:
        while pending or running:
            for job in [j for j in pending if all(d in done for d in j.deps)]:
                if len(running) >= parallel:
                    break
                job.log = osp.join(log_dir, job.tag.replace('/', '_') + '.log')
                if job.work_dir:
                    replace_folder(job.work_dir, f'job {job.tag}')
                with open(job.log, 'w') as log:
                    log.write('# ' + ' '.join(job.cmd) + '\n')
                running[processes.start(job, cwd, env)] = [job, 0]
                pending.remove(job)
                print(f'[{name}] start {job.tag}', flush=True)
            if pending and not running:
                waiting = {j.tag: [d for d in j.deps if d not in done] for j in pending}
                raise SystemExit(f'[{name}] {len(pending)} job(s) wait for jobs that are not in the plan: {waiting}')
            ended = processes.ended()
            for state in running.values():
                state[1] = _print_progress(*state)
            for pid, code in ended:
                job, _ = running.pop(pid)
                if code != 0:
                    with open(job.log, errors='replace') as log:
                        tail = log.read()[-4000:]
                    raise SystemExit(f'[{name}] {job.tag} failed (exit {code}); log {job.log}:\n{tail}')
                done.add(job.tag)
                done_cost += job.cost
                elapsed = time.time() - start
                eta = elapsed / done_cost * (total_cost - done_cost)
                print(
                    f'[{name}] done {job.tag} | {len(done)}/{len(jobs)} jobs | elapsed {elapsed / 60:.1f} min | '
                    f'ETA {eta / 60:.1f} min',
                    flush=True)
    finally:
        for pid in running:
            processes.kill(pid)
        if processes is not None:
            processes.close()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def _stop_on_sigterm(name: str):
    """Make SIGTERM (``kill``, a scheduler's time limit) unwind like Ctrl-C, so that the running jobs are
    killed with the runner instead of training on as orphans. Returns the handler it replaced (None off the main
    thread, where Python cannot install one)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise SystemExit(f'[{name}] stopped by SIGTERM; the running jobs were killed, --skip-finished resumes')

    return signal.signal(signal.SIGTERM, stop)


def _critical_path(jobs: List[Job]) -> dict:
    """tag -> the cost of the job plus the longest chain of jobs waiting on it. Starting the ready job with the
    longest chain first keeps every core busy to the end (a long job started last would run alone)."""
    children = {job.tag: [] for job in jobs}
    for job in jobs:
        for dep in job.deps:
            if dep in children:
                children[dep].append(job)
    rank = {}

    def chain(job: Job) -> float:
        if job.tag not in rank:
            rank[job.tag] = job.cost + max((chain(child) for child in children[job.tag]), default=0.0)
        return rank[job.tag]

    for job in jobs:
        chain(job)
    return rank


def _print_progress(job: Job, offset: int) -> int:
    """Print the progress lines the job logged since ``offset``; returns the new offset (whole lines only)."""
    with open(job.log, 'rb') as log:
        log.seek(offset)
        text = log.read()
    complete = text.rfind(b'\n') + 1
    for line in text[:complete].decode(errors='replace').splitlines():
        if PROGRESS.search(line) and 'mmengine - INFO -' in line:
            print(f'[{job.tag}] {line.split("mmengine - INFO - ")[-1].rstrip()[:150]}', flush=True)
    return offset + complete


def host_description() -> str:
    """'<CPU model>, <n> CPU cores, torch <version>' for result files: float rounding differs between CPU kinds
    (vector widths, math-library kernels), and a long training amplifies it, so a result names its host."""
    import platform

    import torch
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            model = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{model}, {os.cpu_count()} CPU cores, torch {torch.__version__}'
