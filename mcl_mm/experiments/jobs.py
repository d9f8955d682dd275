"""Running a plan of tools/*.py jobs (dependencies first, a few at a time) with tagged progress and an ETA.

Used by tools/demo.py and tools/study.py: each job is an ordinary tools/train.py (or extract/test) command,
so every run can be repeated by hand from its logged command line.
"""
import os
import os.path as osp
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import List

PROGRESS = re.compile(r'(Epoch|Iter)\((train|val|test)\)|Traceback|Error')


@dataclass
class Job:
    tag: str
    cmd: List[str]
    cost: float  # relative estimate, for the ETA
    log: str = ''
    deps: List[str] = field(default_factory=list)
    work_dir: str = ''  # wiped before the job starts: results never mix with an earlier run's


def run_jobs(jobs: List[Job], log_dir: str, cwd: str, parallel: int, name: str) -> None:
    """Run ``jobs`` up to ``parallel`` at a time (each with cores / parallel threads); stream each job's
    progress lines with its tag; on the first failure stop the others and exit with the failed job's log."""
    os.makedirs(log_dir, exist_ok=True)
    threads = str(max(1, (os.cpu_count() or 2) // parallel))
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED='1')
    pending, running, done = list(jobs), {}, set()
    total_cost, done_cost, start = sum(j.cost for j in jobs), 0.0, time.time()

    def pump(job, proc):
        with open(job.log, 'w') as log:
            log.write('# ' + ' '.join(job.cmd) + '\n')
            for line in proc.stdout:
                log.write(line)
                if PROGRESS.search(line) and 'mmengine - INFO -' in line:
                    print(f'[{job.tag}] {line.split("mmengine - INFO - ")[-1].rstrip()[:150]}', flush=True)

    while pending or running:
        for job in [j for j in pending if all(d in done for d in j.deps)]:
            if len(running) >= parallel:
                break
            job.log = osp.join(log_dir, job.tag.replace('/', '_') + '.log')
            if job.work_dir:
                shutil.rmtree(job.work_dir, ignore_errors=True)
            proc = subprocess.Popen(
                job.cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            reader = threading.Thread(target=pump, args=(job, proc), daemon=True)
            reader.start()
            running[job.tag] = (job, proc, reader)
            pending.remove(job)
            print(f'[{name}] start {job.tag}', flush=True)
        time.sleep(0.2)
        for tag, (job, proc, reader) in list(running.items()):
            if proc.poll() is None:
                continue
            reader.join()
            del running[tag]
            if proc.returncode != 0:
                for _, other, _ in running.values():
                    other.kill()
                tail = open(job.log).read()[-4000:]
                raise SystemExit(f'[{name}] {tag} failed (exit {proc.returncode}); log {job.log}:\n{tail}')
            done.add(tag)
            done_cost += job.cost
            elapsed = time.time() - start
            eta = elapsed / done_cost * (total_cost - done_cost)
            print(
                f'[{name}] done {tag} | {len(done)}/{len(jobs)} jobs | elapsed {elapsed / 60:.1f} min | '
                f'ETA {eta / 60:.1f} min',
                flush=True)


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
