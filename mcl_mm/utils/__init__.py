"""Helpers of the tools. ``build_runner`` / ``load_config`` are loaded on first use, so importing a light
module of this package (``errors``, ``results``, ``safe_config``) does not import mmengine's Runner and
every model."""

__all__ = ['build_runner', 'load_config']


def __getattr__(name):
    if name in __all__:
        from . import runner
        return getattr(runner, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
