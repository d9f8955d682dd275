"""Indexing of (member, stage) views shared by the L-MCL loss and its layer-matching weight network."""
from typing import List, Sequence, Tuple

View = Tuple[int, int]  # (member, stage)


def cross_member_pairs(stages_per_member: Sequence[int]) -> List[Tuple[View, View]]:
    """Ordered pairs of views of different members, in the order of the weight network's output."""
    pairs = []
    for i, stages_i in enumerate(stages_per_member):
        for j, stages_j in enumerate(stages_per_member):
            if i != j:
                pairs += [((i, k), (j, z)) for k in range(stages_i) for z in range(stages_j)]
    return pairs
