from .embedding_head import ContrastEmbedHead

__all__ = ['ContrastEmbedHead']
