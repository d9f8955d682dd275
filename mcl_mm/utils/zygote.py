"""Run ``tools/*.py`` commands as fresh processes without paying the stack's import time for each.

A tool run in a new interpreter spends seconds importing torch, mmengine, mmpretrain, mmdet and mmseg before it
reads its arguments; the demo and the study run tens of them, the test suite about a hundred. The zygote is one
interpreter that imports that stack once (the modules its caller names; :data:`TOOL_STACK` for tools/*.py), runs no
torch op (so no thread pool exists when it forks) and then forks a child per request. A child is a process that
has just imported the stack: its own pid, process group, cwd, environment, log file and exit code, running the
script as ``__main__`` exactly as ``python script ...`` would (registries, default scope, ``SystemExit`` messages
and crashes behave as in a new interpreter).

Protocol (one JSON object per line): requests on the zygote's stdin, ``{"argv", "cwd", "env", "log"}`` (the
child appends its stdout and stderr to ``log``); answers on its stdout, ``{"ready": true}`` once, then
``{"pid"}`` when a child starts and ``{"pid", "code"}`` when it ends. Children run concurrently. Closing stdin
ends the zygote once its children have ended.
"""
import atexit
import gc
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import traceback
from importlib import import_module
from typing import Dict, List, Optional, Sequence, Tuple

# What tools/*.py import before they read their arguments; named here, imported only in the zygote's process.
TOOL_STACK = ('torch', 'mmengine.runner', 'mmpretrain.models', 'mmdet.models', 'mmseg.models', 'mcl_mm.apis',
              'mcl_mm.datasets', 'mcl_mm.engine', 'mcl_mm.models')


def _child(request: dict, answer) -> None:
    answer.close()  # the protocol's channel is the zygote's alone
    os.setpgid(0, 0)  # a caller kills the child's process group (torchrun's ranks start sessions of their own)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    fd = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # not the zygote's request pipe
    sys.stdin = open(0, closefd=False)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    np.random.seed()  # numpy's global state is not reseeded on fork (Python's random is): fresh, as a new process
    if 'OMP_NUM_THREADS' in os.environ:  # read by torch at its first op, which the zygote never ran
        import torch
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    script = request['argv'][0]
    sys.argv = list(request['argv'])
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script` sets it
    code = 0
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exit_:
        if exit_.code is None:
            code = 0
        elif isinstance(exit_.code, int):
            code = exit_.code
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve(preload: Sequence[str]) -> None:
    """The zygote's loop: import ``preload``, then fork a child per request and report each child's end."""
    answer = os.fdopen(os.dup(1), 'w', buffering=1)  # the protocol's channel; stray prints go to stderr
    os.dup2(2, 1)
    for module in preload:
        import_module(module)
    # The imported objects go to the permanent generation: the children's collections skip them instead of walking
    # (and copying on write) every page of the inherited heap.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller and the children; the caller ends us
    print(json.dumps({'ready': True}), file=answer, flush=True)
    children, reading, pending = set(), True, b''
    while reading or children:
        if b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            pid = os.fork()
            if pid == 0:
                _child(json.loads(line), answer)
            children.add(pid)
            print(json.dumps({'pid': pid}), file=answer, flush=True)
        elif reading and select.select([0], [], [], 0.1)[0]:
            chunk = os.read(0, 65536)  # raw reads: a buffered reader could hold a request select() cannot see
            pending += chunk
            reading = bool(chunk)
        elif not reading:
            pid, status = os.waitpid(-1, 0)
            children.discard(pid)
            print(json.dumps({'pid': pid, 'code': os.waitstatus_to_exitcode(status)}), file=answer, flush=True)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            children.discard(pid)
            print(json.dumps({'pid': pid, 'code': os.waitstatus_to_exitcode(status)}), file=answer, flush=True)


class Zygote:
    """The caller's side: start a zygote, start scripts in it, collect their exit codes.

    Args:
        log (str): File that takes the zygote's own stderr (import warnings; a crash of the zygote itself).
        startup_timeout (float): Seconds to wait for the stack's imports. Defaults to 300.
        wait (bool): Wait for the imports now; False returns at once and waits at the first :meth:`start`
            (the caller's own work overlaps the imports). Defaults to True.
        preload (Sequence[str]): Modules the zygote imports before it forks. Defaults to :data:`TOOL_STACK`.
    """

    def __init__(self, log: str, startup_timeout: float = 300, wait: bool = True, preload: Sequence[str] = TOOL_STACK):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, '-m', 'mcl_mm.utils.zygote', *preload],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=open(log, 'w'))
        self._buffer = b''
        self._ended: Dict[int, int] = {}
        self._startup_timeout, self._ready = startup_timeout, False
        if wait:
            self._wait_ready()

    def _wait_ready(self) -> None:
        if not self._ready:
            if self._answer(self._startup_timeout).get('ready') is not True:
                raise RuntimeError(f'the zygote did not start: {self._log_tail()}')
            self._ready = True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _log_tail(self) -> str:
        with open(self.log, errors='replace') as f:
            return f.read()[-3000:]

    def _answer(self, timeout: Optional[float]) -> dict:
        # Raw reads into our own buffer: a buffered reader could hold an answer that select() cannot see.
        while b'\n' not in self._buffer:
            if not select.select([self.proc.stdout], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired('zygote', timeout)
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f'the zygote died: {self._log_tail()}')
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        return json.loads(line)

    def start(self, argv: List[str], cwd: str, env: Dict[str, str], log: str) -> int:
        """Start ``python argv[0] argv[1:]`` (stdout and stderr appended to ``log``); returns its pid."""
        self._wait_ready()
        self.proc.stdin.write((json.dumps(dict(argv=list(argv), cwd=str(cwd), env=dict(env), log=log)) + '\n').encode())
        self.proc.stdin.flush()
        while True:
            message = self._answer(120)
            if 'code' in message:
                self._ended[message['pid']] = message['code']
            else:
                return message['pid']

    def ended(self, timeout: float = 0.0) -> List[Tuple[int, int]]:
        """(pid, exit code) of the children that ended since the last call; waits up to ``timeout`` for one."""
        while True:
            try:
                message = self._answer(timeout if not self._ended else 0)
            except subprocess.TimeoutExpired:
                break
            self._ended[message['pid']] = message['code']
        ended, self._ended = list(self._ended.items()), {}
        return ended

    def wait(self, pid: int, timeout: Optional[float] = None) -> int:
        """The exit code of child ``pid``; on timeout the child's process group is killed and TimeoutExpired
        raised."""
        while pid not in self._ended:
            try:
                message = self._answer(timeout)
            except subprocess.TimeoutExpired:
                self.kill(pid)
                while pid not in self._ended:
                    message = self._answer(60)
                    self._ended[message['pid']] = message['code']
                del self._ended[pid]
                raise
            self._ended[message['pid']] = message['code']
        return self._ended.pop(pid)

    @staticmethod
    def kill(pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.alive():
            self.proc.stdin.close()
            self.proc.wait()


if __name__ == '__main__':
    serve(sys.argv[1:])
