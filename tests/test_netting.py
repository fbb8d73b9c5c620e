"""Multilateral netting: worked examples, invariants, an independent oracle, determinism.

The oracle for the exact method (:func:`max_zero_sum_blocks`) enumerates every set
partition of the non-zero positions and counts the blocks of the best one whose blocks all
sum to zero; it shares nothing with the module's subset dynamic programme.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topmatch.settlement.netting import (
    MAX_EXACT_LIMIT,
    BilateralNet,
    minimal_payments,
    positions,
    propose,
)
from topmatch.settlement.schemas import NETTING_FORMAT, Payment

NODES = [f"bureau-{letter}" for letter in "abcdefghijklmnopq"]
A, B, C, D, E = NODES[:5]
PERIOD = "2025-Q1"


def entry(n: int) -> str:
    return hashlib.sha256(f"settlement.closed {n}".encode()).hexdigest()


def nets(*triples: tuple[str, str, int]) -> list[BilateralNet]:
    return [BilateralNet(entry(i), *triple) for i, triple in enumerate(triples)]


def check_invariants(
    pos: Mapping[str, int], payments: Sequence[Payment], gross: int | None = None
) -> None:
    """Conservation, positive amounts, minimal money moved, at most n - 1 payments."""
    balance = dict.fromkeys(pos, 0)
    for payment in payments:
        assert payment.amount_cents > 0
        assert payment.payer != payment.payee
        balance[payment.payer] -= payment.amount_cents
        balance[payment.payee] += payment.amount_cents
    assert balance == dict(pos)
    moved = sum(payment.amount_cents for payment in payments)
    assert moved == sum(cents for cents in pos.values() if cents > 0)
    if gross is not None:
        assert moved <= gross
    nonzero = sum(1 for cents in pos.values() if cents != 0)
    assert len(payments) <= max(nonzero - 1, 0)
    keys = [(payment.payer, payment.payee) for payment in payments]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def set_partitions(items: Sequence[int]) -> Iterator[list[list[int]]]:
    """Every partition of ``items`` into non-empty blocks (Bell(n) of them)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1 :]]


def max_zero_sum_blocks(amounts: Sequence[int]) -> int:
    """The most blocks of a partition of ``amounts`` whose blocks all sum to zero."""
    return max(
        len(partition)
        for partition in set_partitions(amounts)
        if all(sum(block) == 0 for block in partition)
    )


def greedy_count(pos: Mapping[str, int]) -> int:
    payments, method = minimal_payments(pos, exact_limit=0)
    assert method == "greedy" or not any(pos.values())
    return len(payments)


# --- the oracle itself -----------------------------------------------------------------


def test_set_partitions_counts_bell_numbers() -> None:
    bell = [1, 1, 2, 5, 15, 52, 203, 877, 4140]
    for n, expected in enumerate(bell):
        assert sum(1 for _ in set_partitions(list(range(n)))) == expected


def test_oracle_on_known_cases() -> None:
    assert max_zero_sum_blocks([]) == 0
    assert max_zero_sum_blocks([-3, 3]) == 1
    assert max_zero_sum_blocks([-5, -3, 3, 5]) == 2
    assert max_zero_sum_blocks([-7, -5, 3, 4, 5]) == 2
    assert max_zero_sum_blocks([-1, -1, -1, 1, 1, 1]) == 3


# --- worked examples -------------------------------------------------------------------


def test_triangle_cancels_out() -> None:
    ledger = nets((A, B, 100), (B, C, 100), (C, A, 100))
    assert positions(ledger) == {A: 0, B: 0, C: 0}
    proposal = propose(PERIOD, ledger)
    assert proposal.payments == []
    assert proposal.method == "exact"
    assert proposal.gross_cents == 300
    assert proposal.moved_cents == 0
    assert [(p.node, p.net_cents) for p in proposal.positions] == [(A, 0), (B, 0), (C, 0)]


def test_chain_collapses_to_one_payment() -> None:
    proposal = propose(PERIOD, nets((A, B, 100), (B, C, 100)))
    assert proposal.payments == [Payment(payer=A, payee=C, amount_cents=100)]
    assert [(p.node, p.net_cents) for p in proposal.positions] == [(A, -100), (B, 0), (C, 100)]
    assert proposal.gross_cents == 200
    assert proposal.moved_cents == 100


def test_proposal_fields() -> None:
    ledger = nets((C, A, 250), (A, B, 1000), (D, C, 0), (B, A, 400))
    proposal = propose(PERIOD, ledger)
    assert proposal.format == NETTING_FORMAT
    assert proposal.period == PERIOD
    assert proposal.based_on == sorted(net.entry_id for net in ledger)
    assert [(p.node, p.net_cents) for p in proposal.positions] == [
        (A, -350),
        (B, 600),
        (C, -250),
        (D, 0),
    ]
    assert proposal.gross_cents == 1650
    assert proposal.moved_cents == 600
    assert proposal.payments == [
        Payment(payer=A, payee=B, amount_cents=350),
        Payment(payer=C, payee=B, amount_cents=250),
    ]


def test_positions_name_every_node_and_sum_to_zero() -> None:
    pos = positions(nets((B, A, 0), (C, D, 7), (A, D, 3)))
    assert list(pos) == [A, B, C, D]
    assert pos == {A: -3, B: 0, C: -7, D: 10}
    assert positions([]) == {}


def test_two_pairs_greedy_already_finds() -> None:
    # The largest debtor matches the largest creditor, so greedy gets the minimum too.
    pos = {A: -5, B: -3, C: 3, D: 5}
    payments, method = minimal_payments(pos)
    assert method == "exact"
    assert payments == [
        Payment(payer=A, payee=D, amount_cents=5),
        Payment(payer=B, payee=C, amount_cents=3),
    ]
    assert greedy_count(pos) == 2


def test_exact_beats_greedy() -> None:
    # {a, c, d} and {b, e} each sum to zero: 5 - 2 = 3 payments. Greedy over everyone
    # pairs the largest debtor a (-7) with the largest creditor e (+5) and needs 4.
    # (With four non-zero nodes no such case exists: two zero-sum groups are then two
    # matched pairs, which greedy finds too.)
    pos = {A: -7, B: -5, C: 3, D: 4, E: 5}
    payments, method = minimal_payments(pos)
    assert method == "exact"
    assert payments == [
        Payment(payer=A, payee=C, amount_cents=3),
        Payment(payer=A, payee=D, amount_cents=4),
        Payment(payer=B, payee=E, amount_cents=5),
    ]
    greedy, greedy_method = minimal_payments(pos, exact_limit=4)
    assert greedy_method == "greedy"
    assert len(greedy) == 4
    check_invariants(pos, greedy)


def test_nodes_at_zero_take_no_part() -> None:
    payments, method = minimal_payments({A: 0, B: -1, C: 0, D: 1}, exact_limit=2)
    assert method == "exact"
    assert payments == [Payment(payer=B, payee=D, amount_cents=1)]
    assert minimal_payments({A: 0, B: 0}) == ([], "exact")
    assert minimal_payments({}) == ([], "exact")


# --- rejections ------------------------------------------------------------------------


def test_positions_not_summing_to_zero() -> None:
    with pytest.raises(ValueError, match="sum to 5"):
        minimal_payments({A: -5, B: 10})


@pytest.mark.parametrize("limit", [-1, MAX_EXACT_LIMIT + 1])
def test_exact_limit_out_of_range(limit: int) -> None:
    with pytest.raises(ValueError, match=f"got {limit}"):
        minimal_payments({A: -1, B: 1}, exact_limit=limit)


def test_duplicate_entry() -> None:
    ledger = [BilateralNet(entry(1), A, B, 10), BilateralNet(entry(1), B, C, 10)]
    with pytest.raises(ValueError, match=f"entry {entry(1)} is listed twice"):
        propose(PERIOD, ledger)


def test_payer_is_payee() -> None:
    with pytest.raises(ValueError, match=f"payer and payee are both {A}"):
        propose(PERIOD, nets((A, A, 10)))
    with pytest.raises(ValueError, match="payer and payee"):
        positions(nets((B, B, 0)))


def test_negative_amount() -> None:
    with pytest.raises(ValueError, match="amount must be >= 0, got -1"):
        propose(PERIOD, nets((A, B, -1)))


@pytest.mark.parametrize(
    "entry_id",
    ["", "ab" * 31, entry(0).upper(), entry(0) + "0", entry(0)[:-1] + "g", entry(0) + "\n"],
)
def test_malformed_entry_id(entry_id: str) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        propose(PERIOD, [BilateralNet(entry_id, A, B, 1)])


def test_malformed_period_or_node() -> None:
    with pytest.raises(ValueError, match="period"):
        propose("2025-13", nets((A, B, 1)))
    with pytest.raises(ValueError, match="should match pattern"):
        propose(PERIOD, nets(("X", B, 1)))


# --- properties ------------------------------------------------------------------------


@st.composite
def ledgers(draw: st.DrawFn, max_nodes: int = 8) -> list[BilateralNet]:
    """Bilateral nets among up to ``max_nodes`` bureaus, at most one per ordered pair.

    Amounts come from a few round values so that zero-sum groups are common.
    """
    count = draw(st.integers(min_value=2, max_value=max_nodes))
    pairs = [(x, y) for x in NODES[:count] for y in NODES[:count] if x != y]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    amounts = st.sampled_from([0, 100, 200, 300, 500, 1000]) | st.integers(0, 10_000)
    return [
        BilateralNet(entry(i), payer, payee, draw(amounts))
        for i, (payer, payee) in enumerate(chosen)
    ]


@st.composite
def zero_sum_positions(draw: st.DrawFn, max_nodes: int) -> dict[str, int]:
    """Positions summing to zero, from small values so that many subsets sum to zero."""
    count = draw(st.integers(min_value=1, max_value=max_nodes - 1))
    values = draw(st.lists(st.integers(-6, 6), min_size=count, max_size=count))
    nodes = draw(st.permutations(NODES[:max_nodes]))
    pos = dict(zip(nodes, values, strict=False))
    pos[nodes[count]] = -sum(values)
    return pos


@settings(max_examples=150, deadline=None)
@given(ledgers())
def test_proposal_invariants_and_exact_count(ledger: list[BilateralNet]) -> None:
    proposal = propose(PERIOD, ledger)
    pos = {p.node: p.net_cents for p in proposal.positions}
    assert sum(pos.values()) == 0
    assert proposal.gross_cents == sum(net.amount_cents for net in ledger)
    assert proposal.moved_cents == sum(p.amount_cents for p in proposal.payments)
    check_invariants(pos, proposal.payments, proposal.gross_cents)
    nonzero = [cents for cents in pos.values() if cents != 0]
    assert proposal.method == "exact"
    assert len(proposal.payments) == len(nonzero) - max_zero_sum_blocks(nonzero)


@settings(max_examples=150, deadline=None)
@given(zero_sum_positions(max_nodes=8))
def test_exact_count_matches_oracle(pos: dict[str, int]) -> None:
    payments, method = minimal_payments(pos)
    assert method == "exact"
    check_invariants(pos, payments)
    nonzero = [cents for cents in pos.values() if cents != 0]
    assert len(payments) == len(nonzero) - max_zero_sum_blocks(nonzero)
    assert len(payments) <= greedy_count(pos)


@settings(max_examples=50, deadline=None)
@given(zero_sum_positions(max_nodes=12), st.integers(0, 3))
def test_greedy_fallback(pos: dict[str, int], limit: int) -> None:
    nonzero = sum(1 for cents in pos.values() if cents != 0)
    payments, method = minimal_payments(pos, exact_limit=limit)
    assert method == ("greedy" if nonzero > limit else "exact")
    check_invariants(pos, payments)


def test_greedy_fallback_example() -> None:
    pos = {A: -7, B: -5, C: 3, D: 4, E: 5, NODES[5]: 0}
    payments, method = minimal_payments(pos, exact_limit=3)
    assert method == "greedy"
    check_invariants(pos, payments)
    assert payments == [
        Payment(payer=A, payee=C, amount_cents=2),
        Payment(payer=A, payee=E, amount_cents=5),
        Payment(payer=B, payee=C, amount_cents=1),
        Payment(payer=B, payee=D, amount_cents=4),
    ]


def test_fifteen_nonzero_nodes_exact() -> None:
    # Five debtors, each owing two creditors: five zero-sum triples. Every zero-sum group
    # needs a debtor, so five groups is the most, and 15 - 5 = 10 payments the minimum.
    rng = random.Random(20250101)
    pos: dict[str, int] = {}
    for k in range(5):
        debtor, first, second = NODES[3 * k : 3 * k + 3]
        pos[first] = rng.randint(1, 100_000)
        pos[second] = rng.randint(1, 100_000)
        pos[debtor] = -(pos[first] + pos[second])
    assert len(pos) == 15
    payments, method = minimal_payments(pos)
    assert method == "exact"
    check_invariants(pos, payments)
    assert len(payments) == 10


@settings(max_examples=3, deadline=None)
@given(
    st.lists(st.integers(1, 1000), min_size=7, max_size=7),
    st.lists(st.integers(1, 1000), min_size=7, max_size=7),
)
def test_fifteen_random_nonzero_nodes_exact(credits: list[int], debts: list[int]) -> None:
    values = credits + [-debt for debt in debts]
    balance = -sum(values)
    if balance == 0:  # keep all fifteen non-zero
        values[0] += 1
        balance = -1
    pos = dict(zip(NODES, [*values, balance], strict=False))
    assert len(pos) == 15
    assert all(pos.values())
    payments, method = minimal_payments(pos)
    assert method == "exact"
    check_invariants(pos, payments)


# --- determinism -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(ledgers(), st.randoms(use_true_random=False))
def test_same_nets_in_any_order_give_the_same_bytes(
    ledger: list[BilateralNet], rng: random.Random
) -> None:
    shuffled = list(ledger)
    rng.shuffle(shuffled)
    assert propose(PERIOD, shuffled).model_dump_json() == propose(PERIOD, ledger).model_dump_json()


@settings(max_examples=60, deadline=None)
@given(zero_sum_positions(max_nodes=8), st.randoms(use_true_random=False))
def test_position_order_does_not_matter(pos: dict[str, int], rng: random.Random) -> None:
    items = list(pos.items())
    rng.shuffle(items)
    for limit in (0, 15):
        assert minimal_payments(dict(items), exact_limit=limit) == minimal_payments(
            pos, exact_limit=limit
        )
