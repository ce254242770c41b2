"""edge.heap: freed heap pages go back to the OS after a checkpoint (glibc), and resident size follows."""
import platform

import numpy as np
import pytest

from edge.heap import release_free_heap
from edge.soak import rss_kib


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="needs glibc")
def test_release_free_heap_returns_freed_pages():
    small = [np.ones(1000) for _ in range(20_000)]  # 160 MB in heap-sized chunks, not mmap
    del small[:-1]
    before = rss_kib()
    assert release_free_heap() is True
    assert rss_kib() < before - 50_000
