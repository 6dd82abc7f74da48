"""Benchmark settings: the production settings, plus two comparison endpoints under /bench/."""

from evotodo.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
