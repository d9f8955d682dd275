from .loading import LoadImageFromFileChecked

__all__ = ['LoadImageFromFileChecked']
