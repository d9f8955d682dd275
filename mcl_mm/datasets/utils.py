"""Helpers over mmpretrain datasets shared by samplers and hooks."""
import numpy as np


def dataset_labels(dataset) -> np.ndarray:
    """Ground-truth labels of a (possibly wrapped) mmpretrain dataset, indexed like `sample_idx`."""
    inner = dataset
    while not hasattr(inner, 'get_gt_labels') and hasattr(inner, 'dataset'):
        inner = inner.dataset
    if not hasattr(inner, 'get_gt_labels'):
        raise TypeError(f'{type(dataset).__name__} has no get_gt_labels(); the MCL memory bank needs a '
                        'classification dataset (mmpretrain BaseDataset / CustomDataset / ImageNet)')
    if inner is not dataset:
        raise TypeError(f'{type(dataset).__name__} wraps the training set and changes its indices; the MCL '
                        'memory bank needs the plain dataset (drop the wrapper, or resize the bank to match)')
    return np.asarray(inner.get_gt_labels(), dtype=np.int64)
