from .m_per_class import MPerClassSampler

__all__ = ['MPerClassSampler']
