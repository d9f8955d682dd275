"""Read a config stored in a file someone handed us (a checkpoint's ``meta.cfg``, a run's config dump) as data.

mmengine's ``Config.fromstring`` executes the text as Python, so a checkpoint could run code on the machine
that exports it. The text mmengine itself stores (``Config.pretty_text``) is a list of assignments of
literals: ``name = dict(key=value, ...)``, ``{...}``, ``[...]``, ``(...)``, strings, numbers, ``True`` /
``False`` / ``None``. That — and nothing else — is accepted here; anything else (imports, calls other than
``dict(...)``, names, attribute access, comprehensions) is refused with the line that holds it, and so is plain
data that no config holds: nesting deeper than :data:`MAX_DEPTH`, unhashable keys, integers past Python's digit
limit.

:func:`literal_config_text` writes the other way: a config file made of literals only, checked to read back as
the same data, so that nothing taken from an input file can become code in a file we publish.
"""
import ast
import keyword
import math
from typing import Any

from mmengine.config import Config

from .errors import UnsafeConfigError

# Shipped configs nest 6 levels deep; Python's own recursion limit is far below what a crafted text can ask for.
MAX_DEPTH = 32


def _literal(node: ast.AST, source: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise UnsafeConfigError(f'line {getattr(node, "lineno", "?")}: data nested deeper than {MAX_DEPTH} levels')
    try:
        return _literal_node(node, source, depth + 1)
    except TypeError as err:  # a list or dict as a dict key or set element: not data a config can hold
        raise UnsafeConfigError(f'line {getattr(node, "lineno", "?")}: {err}') from None


def _literal_node(node: ast.AST, source: str, depth: int) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e, source, depth) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**other}
            raise _refuse(node, source)
        return {_literal(k, source, depth): _literal(v, source, depth) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        if any(kw.arg is None for kw in node.keywords):  # dict(**other)
            raise _refuse(node, source)
        return {kw.arg: _literal(kw.value, source, depth) for kw in node.keywords}
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
    except (ValueError, MemoryError, RecursionError) as err:  # a literal past the digit limit, nesting the
        # parser cannot hold
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UnsafeConfigError(f'{what} is not a readable config ({reason[:120]}); pass the training config '
                                'yourself with --config CONFIG') from None
    data = {}
    try:
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                raise _refuse(stmt, text)
            data[stmt.targets[0].id] = _literal(stmt.value, text)
    except UnsafeConfigError as err:
        raise UnsafeConfigError(f'{what} holds more than plain data ({err}); it is not executed. Pass the '
                                'training config yourself with --config CONFIG') from None
    try:
        return Config(data)
    except (KeyError, TypeError, ValueError) as err:  # e.g. a top-level name mmengine reserves ('filename')
        raise UnsafeConfigError(f'{what} is not a config mmengine can hold ({str(err).strip(chr(39))}); pass the '
                                'training config yourself with --config CONFIG') from None


def _format_literal(value: Any, indent: int, path: str) -> str:
    """``value`` as Python source made of literals only (``repr`` of strings escapes every quote), dicts whose
    keys are all identifiers written ``dict(key=...)`` as mmengine writes them."""
    pad, inner = ' ' * indent, ' ' * (indent + 4)
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeConfigError(f'{path} is {value}, which a config file cannot hold as a literal')
        return repr(value)
    if indent > 4 * MAX_DEPTH:
        raise UnsafeConfigError(f'{path} is nested deeper than {MAX_DEPTH} levels')
    if isinstance(value, dict):
        if not value:
            return 'dict()'
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value):
            items = [f'{k}={_format_literal(v, indent + 4, f"{path}.{k}")}' for k, v in value.items()]
            return 'dict(\n' + ''.join(f'{inner}{item},\n' for item in items) + f'{pad})'
        for key in value:
            if not (key is None or isinstance(key, (bool, int, float, str))):
                raise UnsafeConfigError(f'{path} has a key of type {type(key).__name__}')
        items = [
            f'{_format_literal(k, indent + 4, path)}: {_format_literal(v, indent + 4, f"{path}[{k!r}]")}'
            for k, v in value.items()
        ]
        return '{\n' + ''.join(f'{inner}{item},\n' for item in items) + f'{pad}}}'
    if isinstance(value, (list, tuple)):
        items = [_format_literal(v, indent + 4, f'{path}[{i}]') for i, v in enumerate(value)]
        if isinstance(value, tuple) and len(items) == 1:
            return f'({items[0]}, )'
        left, right = ('(', ')') if isinstance(value, tuple) else ('[', ']')
        if sum(len(item) for item in items) < 80 and not any('\n' in item for item in items):
            return left + ', '.join(items) + right
        return left + '\n' + ''.join(f'{inner}{item},\n' for item in items) + f'{pad}{right}'
    raise UnsafeConfigError(f'{path} is a {type(value).__name__}, not plain data a config file can hold')


def literal_config_text(data: dict, header: str = '') -> str:
    """A config file (``header`` + one ``name = literal`` line per top-level key) that holds ``data`` and nothing
    else: strings are written with ``repr``, so no text from the input can end a literal and start code. The text
    is read back with :func:`config_from_data_text` and compared with ``data`` before it is returned.

    Raises:
        UnsafeConfigError: ``data`` holds something a literal cannot express (an object, a non-finite float, a
            top-level name that is not an identifier), or the text does not read back as the same data.
    """
    lines = []
    for name, value in data.items():
        if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
            raise UnsafeConfigError(f'the config key {name!r} is not a name a config file can assign')
        lines.append(f'{name} = {_format_literal(value, 0, name)}\n')
    text = header + ''.join(lines)
    if config_from_data_text(text, 'the config being written').to_dict() != data:
        raise UnsafeConfigError('the config being written does not read back as the data it was made from')
    return text
