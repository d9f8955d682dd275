"""Read a config stored in a file someone handed us (a checkpoint's ``meta.cfg``, a run's config dump) as data.

mmengine's ``Config.fromstring`` executes the text as Python, so a checkpoint could run code on the machine
that exports it. The text mmengine itself stores (``Config.pretty_text``) is a list of assignments of
literals: ``name = dict(key=value, ...)``, ``{...}``, ``[...]``, ``(...)``, strings, numbers, ``True`` /
``False`` / ``None``. That — and nothing else — is accepted here; anything else (imports, calls other than
``dict(...)``, names, attribute access, comprehensions) is refused with the line that holds it.
"""
import ast
from typing import Any

from mmengine.config import Config

from .errors import UnsafeConfigError


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e, source) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**other}
            raise _refuse(node, source)
        return {_literal(k, source): _literal(v, source) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        if any(kw.arg is None for kw in node.keywords):  # dict(**other)
            raise _refuse(node, source)
        return {kw.arg: _literal(kw.value, source) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise _refuse(node, source)


def _refuse(node: ast.AST, source: str) -> UnsafeConfigError:
    text = (ast.get_source_segment(source, node) or type(node).__name__).splitlines()[0][:80]
    return UnsafeConfigError(f'line {getattr(node, "lineno", "?")}: {text!r} is not plain data')


# The largest config this project ships dumps to ~20 KB; parsing costs ~500 bytes of memory per byte of text,
# so an unbounded text in a checkpoint could exhaust memory before anything is checked.
MAX_CONFIG_TEXT = 512 * 1024


def config_from_data_text(text: str, what: str = 'the stored config') -> Config:
    """A :class:`Config` from assignment-of-literals text, without executing anything.

    Raises:
        UnsafeConfigError: the text is not a string, too large, not valid Python, or holds anything but
            assignments of literals.
    """
    if not isinstance(text, str):
        raise UnsafeConfigError(f'{what} is a {type(text).__name__}, not config text; pass the training config '
                                'yourself with --config CONFIG')
    if len(text) > MAX_CONFIG_TEXT:
        raise UnsafeConfigError(f'{what} is {len(text) // 1024} KiB, over the {MAX_CONFIG_TEXT // 1024} KiB a config '
                                'can reasonably be; it is not read. Pass the training config yourself with --config '
                                'CONFIG')
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise UnsafeConfigError(f'{what} is not a readable config (syntax error at line {err.lineno}: '
                                f'{err.msg})') from None
    data = {}
    try:
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                raise _refuse(stmt, text)
            data[stmt.targets[0].id] = _literal(stmt.value, text)
    except UnsafeConfigError as err:
        raise UnsafeConfigError(f'{what} holds more than plain data ({err}); it is not executed. Pass the '
                                'training config yourself with --config CONFIG') from None
    return Config(data)
