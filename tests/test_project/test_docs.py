"""The docs name tests as evidence: every test they name exists."""
import os
import os.path as osp
import re

from helpers import REPO

# test file name -> its path (tests/ mirrors the package: tests/test_models/test_losses.py, ...)
TEST_FILES = {
    name: osp.join(root, name)
    for root, _, names in os.walk(osp.join(REPO, 'tests'))
    for name in names if name.startswith('test_') and name.endswith('.py')
}


def test_every_test_docs_reliability_names_exists():
    text = open(osp.join(REPO, 'docs', 'reliability.md')).read()
    missing, current, named = [], None, 0
    for match in re.finditer(r'`(test_\w+\.py)?::(test_\w+)`|`(test_\w+\.py)`', text):
        current = match.group(1) or match.group(3) or current
        if match.group(2) is None:
            continue
        named += 1
        source = open(TEST_FILES[current]).read() if current in TEST_FILES else ''
        if not re.search(rf'^def {match.group(2)}\(', source, flags=re.M):
            missing.append(f'{current}::{match.group(2)}')
    assert named > 40 and not missing, missing
