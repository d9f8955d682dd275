"""Image loading with an explicit policy for files that fail to decode or would decode to gigabytes."""
import os.path as osp

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
        max_pixels (int): A local image whose header declares more pixels is refused before it is decoded
            (by ``on_error``): a crafted or corrupt file can declare a size that decodes to gigabytes per
            sample. Defaults to 178,956,970 (Pillow's own limit; ImageNet's largest image has 0.02 of it).
        **kwargs: Other arguments of mmcv's ``LoadImageFromFile`` (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args``, ...), with its defaults; ``ignore_empty`` is dropped
            (always False: ``on_error`` decides).
    """

    def __init__(self, on_error: str = 'fail', max_pixels: int = 178_956_970, **kwargs):
        if on_error not in ('fail', 'skip'):
            raise ConfigError(f"LoadImageFromFileChecked on_error must be 'fail' or 'skip', got {on_error!r}")
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
            raise ConfigError(f'LoadImageFromFileChecked max_pixels must be a positive integer, got {max_pixels!r}')
        kwargs.pop('ignore_empty', None)
        super().__init__(ignore_empty=False, **kwargs)
        self.on_error = on_error
        self.max_pixels = max_pixels
        self.skipped = 0

    def _check_declared_size(self, path) -> None:
        """Read the header only (Pillow opens lazily) and refuse a declared size past ``max_pixels``."""
        from PIL import Image
        if not (isinstance(path, str) and osp.isfile(path)):
            return
        try:
            with Image.open(path) as img:
                width, height = img.size
        except Image.DecompressionBombError as err:
            raise ValueError(f'it declares more pixels than max_pixels={self.max_pixels} allows ({err})') from None
        except Exception:  # not an image Pillow reads: the decoder below says what is wrong with it
            return
        if width * height > self.max_pixels:
            raise ValueError(f'it declares {width}x{height} = {width * height:,} pixels, over max_pixels='
                             f'{self.max_pixels:,} (it would decode to {3 * width * height / 2**30:.1f} GiB)')

    def transform(self, results: dict):
        try:
            self._check_declared_size(results.get('img_path'))
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
