"""The catalogue's guarantees the chain of jobs stands on, for every implementation (SQLite and PostgreSQL): one entry
per stack position however many clients race for it, single-flight leases, and counters that lose no update when
several workers bump them at once."""
from __future__ import annotations

import threading
import time

from storage.catalogue import Catalogue


def _catalogue(url: str) -> Catalogue:
    return Catalogue(url)


def _race(workers: int, work) -> list:
    results, barrier = [], threading.Barrier(workers)

    def run(number: int) -> None:
        barrier.wait()
        results.append(work(number))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_entry_per_position_however_many_race_for_it(catalogue_url):
    catalogue = _catalogue(catalogue_url)
    stack = catalogue.open_stack(kind="upload", client="test")
    results = _race(6, lambda n: catalogue.add_entry(stack_id=stack.id, seq=0, sha256="a" * 64, name="p.png",
                                                     source_path="p.png", size=1, case_no=None, client=f"c{n}"))
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert len({entry.id for entry, _ in results}) == 1
    assert [e.seq for e in catalogue.entries_of_stack(stack.id)] == [0]


def test_entries_without_a_position_take_the_next_free_one(catalogue_url):
    catalogue = _catalogue(catalogue_url)
    stack = catalogue.open_stack(kind="upload", client="test")
    _race(5, lambda n: catalogue.add_entry(stack_id=stack.id, seq=None, sha256=f"{n}" * 64, name=f"{n}.png",
                                           source_path=f"{n}.png", size=1, case_no=None, client="c"))
    assert [e.seq for e in catalogue.entries_of_stack(stack.id)] == [0, 1, 2, 3, 4]


def test_a_lease_is_held_by_one_owner_until_released_or_expired(catalogue_url):
    catalogue = _catalogue(catalogue_url)
    won = _race(4, lambda n: (n, catalogue.take_lease("assemble:case", f"worker-{n}", 30)))
    assert sorted(taken for _, taken in won) == [False, False, False, True]
    holder = next(f"worker-{n}" for n, taken in won if taken)
    assert not catalogue.take_lease("assemble:case", "late", 30)
    catalogue.release_lease("assemble:case", "late")                 # not the holder: changes nothing
    assert not catalogue.take_lease("assemble:case", "late", 30)
    catalogue.release_lease("assemble:case", holder)
    assert catalogue.take_lease("assemble:case", "late", 0.2)
    time.sleep(0.3)
    assert catalogue.take_lease("assemble:case", "after-expiry", 30)   # a holder that died does not block forever


def test_releasing_a_lease_says_whether_someone_wanted_it_meanwhile(catalogue_url):
    """The holder of a case's build learns that another build was asked for while it ran, so that one runs at once."""
    catalogue = _catalogue(catalogue_url)
    assert catalogue.take_lease("assemble:case", "first", 30)
    assert catalogue.release_lease("assemble:case", "first") is False        # nobody asked
    assert catalogue.take_lease("assemble:case", "first", 30)
    assert not catalogue.take_lease("assemble:case", "second", 30)
    assert catalogue.release_lease("assemble:case", "first") is True         # "second" is waiting for it
    assert catalogue.take_lease("assemble:case", "second", 30)
    assert catalogue.release_lease("assemble:case", "second") is False       # the mark went with the old lease


def test_counters_lose_no_update_under_concurrent_workers(catalogue_url):
    catalogue = _catalogue(catalogue_url)
    stack = catalogue.open_stack(kind="upload", client="test")
    _race(8, lambda n: [catalogue.bump_stack(stack.id) for _ in range(10)])
    _race(8, lambda n: [catalogue.touch_case("（2024）浙0803民初1234号", "civil_first") for _ in range(5)])
    assert catalogue.stack(stack.id).version == 80
    assert catalogue.case("（2024）浙0803民初1234号")["version"] == 40


def test_one_stack_per_key_and_one_case_however_many_race_to_make_them(catalogue_url):
    catalogue = _catalogue(catalogue_url)
    stacks = _race(6, lambda n: catalogue.open_stack(kind="backlog", client=f"c{n}", key="/backlog/（2023）川0203民初1号"))
    assert len({stack.id for stack in stacks}) == 1
    _race(6, lambda n: catalogue.touch_case("（2023）川0203民初1号", "civil_first"))
    assert catalogue.case_numbers() == ["（2023）川0203民初1号"]
    assert catalogue.case("（2023）川0203民初1号")["version"] == 6
