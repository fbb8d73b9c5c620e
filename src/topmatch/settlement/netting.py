"""Multilateral netting: from every pair's bilateral net to the fewest bank transfers. Pure.

Input is one co-signed *bilateral net* per pair of bureaus and period (the amount a
``settlement.closed`` ledger entry says the payer owes the payee). Output is each bureau's
net position and a list of payments that settles all of them. Every node computes the
:class:`~topmatch.settlement.schemas.NettingProposal` on its own and the nodes compare
hashes of its RFC 8785 bytes, so the result depends on the *set* of nets only: nodes are
processed in node id order, every tie is broken by node id, and no result depends on the
iteration order of the input.

Positions
    ``position(x) = sum received - sum paid`` over the bilateral nets. Every net adds its
    amount to one node and takes it from another, so the positions sum to exactly zero.

Why the minimum is ``n - z``
    Take the ``n`` nodes with a non-zero position and any set of payments settling them, as
    a graph with one edge per payment. In a connected component no money enters or leaves,
    so its positions sum to zero, and a connected graph of ``k`` nodes has at least
    ``k - 1`` edges. With ``c`` components the payments number at least ``n - c``, and the
    components are disjoint zero-sum groups, so at least ``n - z`` where ``z`` is the
    largest number of disjoint zero-sum groups the non-zero nodes can be split into.
    Conversely ``n - z`` is reached: settle each group of ``k`` on its own with the greedy
    rule below, which needs at most ``k - 1`` payments.

The exact method (at most ``exact_limit`` non-zero nodes)
    A dynamic programme over the subsets of the non-zero nodes, as bitmasks. ``sums[mask]``
    is the sum of the positions in ``mask``, built from ``mask`` without its lowest bit;
    ``best[mask] = max(best[mask - {i}] for i in mask) + (1 if sums[mask] == 0 else 0)``.
    ``best[mask]`` is the most zero-sum prefixes any ordering of ``mask`` can have, and an
    ordering with ``z`` zero-sum prefixes cuts into ``z`` zero-sum groups (and back), so
    ``best[all] = z``. Walking back from ``all``, always removing the lowest-numbered node
    that keeps the optimum, and cutting wherever the remaining set sums to zero, yields the
    groups deterministically. The time is O(n 2^n) and the memory O(2^n): 2^15 subsets
    take well under a second in CPython, which is why ``exact_limit`` defaults to 15 and
    may not exceed :data:`MAX_EXACT_LIMIT`. (The problem is NP-hard in general, so there
    is no polynomial shortcut to wait for.)

The greedy rule (within a group, or over everyone above ``exact_limit``)
    The largest debtor pays the largest creditor the smaller of the two amounts; ties go to
    the lowest node id. Every payment settles at least one of the two nodes completely and
    the last settles both, so ``k`` nodes take at most ``k - 1`` payments. Above
    ``exact_limit`` the greedy rule runs over all non-zero nodes (method ``"greedy"``): at
    most ``n - 1`` payments, not always the fewest.

How much money moves
    A payment never takes a debtor past zero nor a creditor past its position, so either
    method moves exactly the sum of the positive positions: every creditor receives its
    position and nothing more, the least any settlement can move. That never exceeds the
    gross (the sum of the bilateral amounts): a creditor's position is what it receives
    bilaterally minus what it pays, so the positive positions sum to at most everything
    received bilaterally, which is the gross.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal, NamedTuple

from topmatch.settlement.schemas import NETTING_FORMAT, NettingProposal, Payment, Position

#: The highest ``exact_limit`` accepted: the exact method holds two lists of 2^limit ints.
MAX_EXACT_LIMIT: Final = 20

_ENTRY_ID: Final = re.compile(r"[0-9a-f]{64}")

Method = Literal["exact", "greedy"]


class BilateralNet(NamedTuple):
    """What one ``settlement.closed`` entry says: ``payer`` owes ``payee`` the amount."""

    entry_id: str  # 64 lowercase hex characters: the settlement.closed ledger entry
    payer: str
    payee: str
    amount_cents: int  # >= 0, euro cents including VAT


def positions(nets: Iterable[BilateralNet]) -> dict[str, int]:
    """Each node's net position: positive receives, negative pays; keys in node id order.

    Every node named in ``nets`` appears, at 0 when its nets cancel out; the values sum to
    exactly 0. Raises ``ValueError`` for a net whose payer is its payee or whose amount is
    negative.
    """
    net_of: dict[str, int] = {}
    for net in nets:
        _check_net(net)
        net_of[net.payer] = net_of.get(net.payer, 0) - net.amount_cents
        net_of[net.payee] = net_of.get(net.payee, 0) + net.amount_cents
    return {node: net_of[node] for node in sorted(net_of)}


def minimal_payments(
    positions: Mapping[str, int], *, exact_limit: int = 15
) -> tuple[list[Payment], Method]:
    """Payments settling ``positions``, sorted by payer then payee, and the method used.

    With at most ``exact_limit`` non-zero positions the number of payments is the true
    minimum (``"exact"``); otherwise at most one less than the non-zero positions
    (``"greedy"``). Either way each node receives minus pays exactly its position, and the
    money moved is the sum of the positive positions. Nodes at 0 take no part.

    Raises ``ValueError`` when the positions do not sum to 0 or ``exact_limit`` is not
    between 0 and :data:`MAX_EXACT_LIMIT`.
    """
    if not 0 <= exact_limit <= MAX_EXACT_LIMIT:
        raise ValueError(f"exact_limit must be between 0 and {MAX_EXACT_LIMIT}, got {exact_limit}")
    total = sum(positions.values())
    if total != 0:
        raise ValueError(f"positions must sum to 0, they sum to {total}")
    nonzero = [(node, positions[node]) for node in sorted(positions) if positions[node] != 0]
    if len(nonzero) > exact_limit:
        return _sorted(_greedy(nonzero)), "greedy"
    payments: list[Payment] = []
    for group in _zero_sum_groups([amount for _, amount in nonzero]):
        payments.extend(_greedy([nonzero[i] for i in group]))
    return _sorted(payments), "exact"


def propose(period: str, nets: Sequence[BilateralNet], *, exact_limit: int = 15) -> NettingProposal:
    """The netting proposal for ``period`` from its closed bilateral nets.

    Raises ``ValueError`` for an entry id that is not 64 lowercase hex characters, an entry
    listed twice, a net whose payer is its payee, or a negative amount (and pydantic's
    ``ValidationError``, also a ``ValueError``, for a malformed period or node id).
    """
    _check_entries(nets)
    net_positions = positions(nets)
    payments, method = minimal_payments(net_positions, exact_limit=exact_limit)
    return NettingProposal(
        format=NETTING_FORMAT,
        period=period,
        based_on=sorted(net.entry_id for net in nets),
        positions=[Position(node=node, net_cents=cents) for node, cents in net_positions.items()],
        payments=payments,
        method=method,
        gross_cents=sum(net.amount_cents for net in nets),
        moved_cents=sum(payment.amount_cents for payment in payments),
    )


# --- validation ------------------------------------------------------------------------


def _check_net(net: BilateralNet) -> None:
    if net.payer == net.payee:
        raise ValueError(f"entry {net.entry_id}: payer and payee are both {net.payer}")
    if net.amount_cents < 0:
        raise ValueError(f"entry {net.entry_id}: amount must be >= 0, got {net.amount_cents}")


def _check_entries(nets: Sequence[BilateralNet]) -> None:
    seen: set[str] = set()
    for net in nets:
        if not _ENTRY_ID.fullmatch(net.entry_id):
            raise ValueError(f"entry id must be 64 lowercase hex characters, got {net.entry_id!r}")
        if net.entry_id in seen:
            raise ValueError(f"entry {net.entry_id} is listed twice")
        seen.add(net.entry_id)


# --- the exact method ------------------------------------------------------------------


def _zero_sum_groups(amounts: Sequence[int]) -> list[list[int]]:
    """The most disjoint zero-sum groups covering ``amounts`` (which sum to 0), as indices.

    Each group is in ascending index order; the groups in the order the walk finds them.
    """
    sums, best = _subset_tables(amounts)
    groups: list[list[int]] = []
    mask = start = (1 << len(amounts)) - 1
    while mask:
        mask ^= _removable_bit(mask, sums, best)
        if sums[mask] == 0:  # also when mask is empty: the last group closes
            groups.append(_indices(start ^ mask))
            start = mask
    return groups


def _subset_tables(amounts: Sequence[int]) -> tuple[list[int], list[int]]:
    """``sums[mask]`` and ``best[mask]`` for every subset ``mask`` of ``amounts``."""
    size = 1 << len(amounts)
    sums = [0] * size
    best = [0] * size
    for mask in range(1, size):
        low = mask & -mask
        total = sums[mask ^ low] + amounts[low.bit_length() - 1]
        sums[mask] = total
        most = 0
        rest = mask
        while rest:
            bit = rest & -rest
            most = max(most, best[mask ^ bit])
            rest ^= bit
        best[mask] = most + 1 if total == 0 else most
    return sums, best


def _removable_bit(mask: int, sums: Sequence[int], best: Sequence[int]) -> int:
    """The lowest bit of ``mask`` whose removal keeps the optimum ``best[mask]``."""
    wanted = best[mask] - 1 if sums[mask] == 0 else best[mask]
    rest = mask
    while rest:
        bit = rest & -rest
        if best[mask ^ bit] == wanted:
            return bit
        rest ^= bit
    raise AssertionError(f"no subset of {mask:#x} reaches {wanted}")  # unreachable by the DP


def _indices(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


# --- the greedy rule -------------------------------------------------------------------


def _greedy(nonzero: Iterable[tuple[str, int]]) -> list[Payment]:
    """Largest debtor pays largest creditor, ties to the lowest node id; needs sum 0."""
    # Min-heaps of (-amount, node): the largest amount first, then the lowest node id.
    debtors: list[tuple[int, str]] = []
    creditors: list[tuple[int, str]] = []
    for node, amount in nonzero:
        if amount < 0:
            debtors.append((amount, node))
        elif amount > 0:
            creditors.append((-amount, node))
    heapq.heapify(debtors)
    heapq.heapify(creditors)
    payments: list[Payment] = []
    while debtors and creditors:
        owes, payer = heapq.heappop(debtors)
        due, payee = heapq.heappop(creditors)
        paid = min(-owes, -due)
        payments.append(Payment(payer=payer, payee=payee, amount_cents=paid))
        if owes + paid < 0:
            heapq.heappush(debtors, (owes + paid, payer))
        if due + paid < 0:
            heapq.heappush(creditors, (due + paid, payee))
    return payments


def _sorted(payments: Iterable[Payment]) -> list[Payment]:
    return sorted(payments, key=lambda p: (p.payer, p.payee, p.amount_cents))
