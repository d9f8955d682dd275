"""Checks that the compiled mmcv ops the transfer detectors use agree between CPU and CUDA.

    python benchmarks/check_mmcv_ops.py

nms, batched_nms and roi_align (aligned, as Mask/Faster R-CNN use it) against the CPU kernels, and the
CUDA-only sigmoid focal loss against a naive formula, on
random inputs; prints the max abs difference of each and exits non-zero if one is off or a CUDA op is missing.
"""
import sys

import torch


def main():
    import mmcv
    from mmcv.ops import batched_nms, nms, roi_align, sigmoid_focal_loss
    assert torch.cuda.is_available(), 'no CUDA device'
    print(f'mmcv {mmcv.__version__}, torch {torch.__version__}, CUDA {torch.version.cuda}, '
          f'{torch.cuda.get_device_name()}')
    torch.manual_seed(0)
    xy = torch.rand(500, 2) * 200
    boxes = torch.cat([xy, xy + 10 + torch.rand(500, 2) * 60], dim=1)
    scores = torch.rand(500)
    idxs = torch.randint(0, 5, (500, ))
    feats = torch.randn(2, 16, 50, 50)
    rois = torch.cat([torch.randint(0, 2, (64, 1)).float(), boxes[:64] / 4], dim=1)
    logits, targets = torch.randn(256, 20), torch.randint(0, 20, (256, ))
    checks = {
        'nms keep':
        lambda d: nms(boxes.to(d), scores.to(d), 0.5)[1].cpu().float(),
        'batched_nms keep':
        lambda d: batched_nms(boxes.to(d), scores.to(d), idxs.to(d), dict(type='nms', iou_threshold=0.5))[1].cpu().
        float(),
        'roi_align':
        lambda d: roi_align(feats.to(d), rois.to(d), (7, 7), 1.0, 0, 'avg', True).cpu(),
    }
    failures = 0
    for name, fn in checks.items():
        cpu, cuda = fn('cpu'), fn('cuda')
        diff = (cpu - cuda).abs().max().item() if cpu.shape == cuda.shape else float('inf')
        bad = diff > 1e-4
        failures += bad
        print(f'{name:>18}: max |cpu - cuda| = {diff:.2e} {"FAIL" if bad else "ok"}')
    focal = sigmoid_focal_loss(logits.cuda(), targets.cuda(), 2.0, 0.25, None, 'mean').item()
    p = logits.sigmoid()
    onehot = torch.nn.functional.one_hot(targets, 20).float()
    pt = p * onehot + (1 - p) * (1 - onehot)
    at = 0.25 * onehot + 0.75 * (1 - onehot)
    # mmcv divides the summed loss by the batch size, not by the number of elements.
    naive = (-at * (1 - pt)**2 * torch.log(pt.clamp(min=1e-12))).sum().item() / logits.shape[0]
    bad = abs(focal - naive) > 1e-4 * max(1.0, abs(naive))
    failures += bad
    print(f'{"sigmoid_focal_loss":>18}: cuda {focal:.6f} vs naive {naive:.6f} {"FAIL" if bad else "ok"}')
    print('mmcv ops check', 'FAILED' if failures else 'passed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
