import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instance import Instance  # noqa: E402

MODES = ["user", "root"] if os.geteuid() == 0 else ["user"]


@pytest.fixture(params=MODES)
def instance(request):
    """A started instance, once per privilege mode this machine allows."""
    inst = Instance(request.param).init()
    inst.start()
    yield inst
    inst.destroy()


@pytest.fixture(params=MODES)
def make_instance(request):
    """An instance factory for tests that configure before starting, once per
    privilege mode this machine allows."""
    made = []

    def make(**params):
        inst = Instance(request.param).init(**params)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        inst.destroy()


@pytest.fixture
def pg_cluster():
    """A private PostgreSQL cluster, started (t/e2e/pg_cluster.py); skipped
    only where the server programs are not installed."""
    from pg_cluster import PgCluster, missing
    why = missing()
    if why:
        pytest.skip(why)
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
