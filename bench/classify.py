"""Benchmark: classifying product names (tracker.classify.classifier.classify_device, one automaton pass per field)
against a bare `re` search of the same word list (every word, unless and mask word of every rule in one alternation).

    .venv/bin/python bench/classify.py [N]     # default 100000 names

The baseline is the least any word-list classifier must do: find the rule words in the name. The classifier also
normalises the text, decides every rule from the words found, weighs evidence and builds its tags. Both run over the
same names, interleaved for 5 rounds in one process; medians per name and their ratios are printed (goal ≤ 2×).
`classify_device` keeps answers for recurring short inputs (a generic name recurs across certificates; a bounded LRU
of `classifier.CACHE_SIZE` entries): the second row starts each round with an empty cache, so every distinct name is
classified afresh once per round; the third row turns the cache off, for the cost of a name never seen before. Both
ratios are printed, and which of them meets the goal. Last, the memory one kept answer costs (tracemalloc, its key
holding its own copy of the name, as rows read from a database do).
"""
from __future__ import annotations

import random
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.classify import classifier  # noqa: E402
from tracker.classify.classifier import classify_device  # noqa: E402
from tracker.classify.matcher import normalize  # noqa: E402
from tracker.classify.rules import RULES  # noqa: E402

ROUNDS = 5
# Name parts in the order NMPA names its products (<modality/site><disease><function>软件), and hardware names.
SITES = ["肺结节", "肺炎", "骨折", "颅内出血", "颅内肿瘤", "糖尿病视网膜病变", "乳腺", "宫颈细胞", "结直肠息肉", "冠状动脉",
         "甲状腺结节", "肝脏", "儿童手部", "脑卒中", "心律失常", "青光眼", "胸部", "全身骨", "前列腺", "皮肤"]
MODALITIES = ["CT影像", "CT图像", "磁共振影像", "X射线图像", "超声图像", "眼底图像", "数字病理图像", "内窥镜图像",
              "心电", "CT血管造影图像", "PET/CT影像", "口腔曲面体层影像", ""]
FUNCTIONS = ["辅助检测", "辅助诊断", "辅助分诊", "辅助分诊与评估", "计算", "分析", "勾画", "智能分析", "定量分析", ""]
SUFFIXES = ["软件", "系统", "软件系统"]
HARDWARE = ["一次性使用无菌注射器", "植入式心脏起搏器（磁共振条件安全）", "十二导心电图机", "多参数监护仪",
            "X射线计算机体层摄影设备", "口腔颌面锥形束计算机体层摄影设备", "医用磁共振成像系统", "彩色多普勒超声诊断仪",
            "电子上消化道内窥镜", "腹腔内窥镜手术系统", "新型冠状病毒2019-nCoV核酸检测试剂盒", "人工髋关节假体",
            "染色体核型分析软件", "放射治疗计划系统", "冠状动脉造影血流储备分数测量系统"]


def names_of(n: int) -> list[str]:
    """`n` product names: four in five built from AI naming parts, one in five hardware and look-alikes."""
    rng = random.Random(14)
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(rng.choice(HARDWARE))
        else:
            out.append(rng.choice(SITES) + rng.choice(MODALITIES) + rng.choice(FUNCTIONS) + rng.choice(SUFFIXES))
    return out


def word_list_pattern() -> re.Pattern[str]:
    """Every word the rules name (words, unless, mask), longest first, as one alternation."""
    words = {normalize(w) for rule in RULES for w in (*rule.words, *rule.unless, *rule.mask) if w}
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def main(argv: list[str]) -> int:
    n = int(argv[1]) if len(argv) > 1 else 100_000
    names = names_of(n)
    pattern = word_list_pattern()

    def bare() -> None:
        findall = pattern.findall
        for name in names:
            findall(name)

    def classify() -> None:
        classifier.clear_cache()  # each round starts cold: the cache only helps with names seen in this round
        for name in names:
            classify_device(name=name)

    def uncached() -> None:
        with classifier.cache_disabled():
            for name in names:
                classify_device(name=name)

    runs = (("bare re search", bare), ("classify_device", classify), ("uncached", uncached))
    times: dict[str, list[float]] = {label: [] for label, _ in runs}
    for _ in range(ROUNDS):
        for label, fn in runs:
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    ai = sum(classify_device(name=name).is_ai for name in names[:10_000])
    print(f"{n} names ({len(set(names))} distinct), {len(pattern.pattern.split('|'))} words in the list, "
          f"{ROUNDS} rounds interleaved; {ai} of the first 10,000 tagged AI")
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, values in times.items():
        print(f"{label:16} median {medians[label]:7.3f} s  best {min(values):7.3f} s  "
              f"{medians[label] / n * 1e6:6.2f} µs per name")
    base = medians["bare re search"]
    for label, what in (("classify_device", "cache on, empty at each round's start"),
                        ("uncached", "every name afresh, cache off")):
        ratio = medians[label] / base
        print(f"ratio {label} / bare re search ({what}): {ratio:.2f}× — "
              f"{'meets' if ratio <= 2 else 'does not meet'} the goal (≤ 2×)")
    distinct = list(dict.fromkeys(names))
    per_entry = cache_entry_bytes(distinct[:classifier.CACHE_SIZE])
    print(f"cache: {classifier.CACHE_SIZE} entries at most, {len(distinct)} distinct names in this run "
          f"({'all fit' if len(distinct) <= classifier.CACHE_SIZE else 'they do not all fit'}); "
          f"{per_entry:.0f} bytes per kept answer, {per_entry * classifier.CACHE_SIZE / 2**20:.1f} MiB when full")
    return 0


def cache_entry_bytes(names: list[str]) -> float:
    """Bytes one kept answer costs: memory traced while `names` (copied, as fresh strings) fill an empty cache."""
    classifier.clear_cache()
    copies = ["".join(list(name)) for name in names]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for name in copies:
        classify_device(name=name)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # The copies were made before tracing: the cache keeping them alive is counted as their share.
    return (grown + sum(sys.getsizeof(name) for name in copies)) / len(copies)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
