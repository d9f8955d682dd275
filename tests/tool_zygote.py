"""Run ``tools/<script>`` as a fresh process without paying the stack's import time each run.

A tool run in a new interpreter spends seconds importing torch, mmengine, mmpretrain, mmdet and mmseg before
it reads its arguments; the suite runs about a hundred of them. The zygote is one interpreter that imports
that stack once (and runs no torch op, so no thread pool exists when it forks) and then forks a child per
request: the child has the state of a process that has just imported the stack, its own pid, cwd,
environment, stdout / stderr and exit code, and runs the script as ``__main__`` exactly as ``python
tools/<script>`` would. The process boundary the tests rely on (registries, default scope, exit codes,
``SystemExit`` messages, crashes) is kept.

Protocol: one JSON request per line on stdin, ``{"argv", "cwd", "env", "log"}``; the zygote answers
``{"pid"}`` when the child starts, then ``{"code"}`` when it ends.
"""
import atexit
import json
import os
import runpy
import signal
import sys
import traceback


def _preload() -> None:
    import mmdet.models  # noqa: F401
    import mmengine.runner  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    import torch  # noqa: F401

    import mcl_mm.datasets  # noqa: F401
    import mcl_mm.engine  # noqa: F401
    import mcl_mm.models  # noqa: F401
    import mcl_mm.utils.runner  # noqa: F401


def _child(request: dict) -> None:
    os.setpgid(0, 0)  # a timeout kills the child's process group (torchrun's ranks start sessions of their own)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    fd = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # not the zygote's request pipe
    sys.stdin = open(0, closefd=False)
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


def main() -> None:
    answer = os.fdopen(os.dup(1), 'w', buffering=1)  # the protocol's channel; stray prints go to stderr
    os.dup2(2, 1)
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    print(json.dumps({'ready': True}), file=answer, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({'pid': pid}), file=answer, flush=True)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(json.dumps({'code': code}), file=answer, flush=True)


if __name__ == '__main__':
    main()
