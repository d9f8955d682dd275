"""Image loading with an explicit policy for files that fail to decode."""
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from mcl_mm.registry import TRANSFORMS
from mcl_mm.utils.errors import ConfigError, DataError


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with a policy for missing / undecodable images.

    Args:
        on_error (str): ``'fail'`` stops with an error naming the file; ``'skip'`` logs a warning with a
            running count and returns None, so the dataset serves another sample instead (mmengine's
            refetch). Counts are per data-loader worker. Defaults to ``'fail'``.
        **kwargs: Other arguments of mmcv's ``LoadImageFromFile`` (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args``, ...), with its defaults; ``ignore_empty`` is dropped
            (always False: ``on_error`` decides).
    """

    def __init__(self, on_error: str = 'fail', **kwargs):
        if on_error not in ('fail', 'skip'):
            raise ConfigError(f"LoadImageFromFileChecked on_error must be 'fail' or 'skip', got {on_error!r}")
        kwargs.pop('ignore_empty', None)
        super().__init__(ignore_empty=False, **kwargs)
        self.on_error = on_error
        self.skipped = 0

    def transform(self, results: dict):
        try:
            return super().transform(results)
        except Exception as err:  # mmcv raises different types for missing and undecodable files
            path = results.get('img_path')
            if self.on_error == 'fail':
                raise DataError(f'cannot load image {path}: {err}. Fix or remove the file, or set '
                                "on_error='skip' on LoadImageFromFileChecked to skip such files") from None
            self.skipped += 1
            print_log(
                f'skipped undecodable image {path} ({self.skipped} skipped so far in this worker): {err}',
                logger='current',
                level=30)
            return None
