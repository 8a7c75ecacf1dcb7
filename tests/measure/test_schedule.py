from collections import Counter

import pytest

from harness.measure.schedule import Schedule, williams_square


@pytest.mark.parametrize("n", range(2, 8))
def test_williams_square_balances_slots_and_carry_over(n):
    rows = williams_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    slots = Counter((row.index(s), s) for row in rows for s in row)
    follows = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
    assert len(set(slots.values())) == 1 and len(slots) == n * n
    assert len(set(follows.values())) == 1 and len(follows) == n * (n - 1)


def test_two_programs_give_abba_and_one_program_one_row():
    assert williams_square(2) == ((0, 1), (1, 0))
    assert williams_square(1) == ((0,),)


def test_schedule_replays_from_its_seed():
    a = [Schedule(4, "latin", 3, "sha256").round_order(r) for r in range(8)]
    b = [Schedule(4, "latin", 3, "sha256").round_order(r) for r in range(8)]
    assert a == b and a[:4] == a[4:]  # cyclic over the square's rows
    assert Schedule(4, "given", 3, "x").round_order(5) == (0, 1, 2, 3)
    shuffled = Schedule(4, "random", 3, "x")
    assert sorted(shuffled.round_order(0)) == [0, 1, 2, 3]


def test_reverse_runs_each_round_backwards():
    schedule = Schedule(3, "given", 0, "x", reverse=True)
    assert [schedule.round_order(r) for r in (-1, 0, 7)] == [(2, 1, 0)] * 3
    forward, backward = Schedule(4, "latin", 5, "x"), Schedule(4, "latin", 5, "x", reverse=True)
    assert all(backward.round_order(r) == forward.round_order(r)[::-1] for r in range(8))
