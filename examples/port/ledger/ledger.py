"""A small bank ledger: accounts, transfers between them, and a history of what happened.

A stateful sandbox with no gymhall import. The task is to move money until every account holds
its target balance; `reconciled()` says whether it does. Its name is not one `gymhall port`
recognises as a grader, so porting it names it:

    gymhall port examples/port/ledger/ledger.py --verify-method reconciled
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transfer:
    """One completed transfer."""

    source: str
    target: str
    amount: int


class Ledger:
    """Accounts with integer balances (in cents) and the transfers made between them.

    Args:
        accounts: the account names.
        balances: each account's opening balance, in the order of `accounts`.
        targets: the balance each account should end with, in the order of `accounts`.
    """

    def __init__(self, accounts: list[str], balances: list[int], targets: list[int]) -> None:
        if not len(accounts) == len(balances) == len(targets):
            raise ValueError("accounts, balances and targets must have the same length")
        if sum(balances) != sum(targets):
            raise ValueError("the targets must add up to the same total as the balances")
        self._balances = dict(zip(accounts, balances, strict=True))
        self._targets = dict(zip(accounts, targets, strict=True))
        self._history: list[Transfer] = []

    def balances(self) -> dict[str, int]:
        """Every account's balance, by name."""
        return dict(self._balances)

    def transfer(self, source: str, target: str, amount: int) -> Transfer:
        """Move `amount` from one account to another; refused if the source would go below zero.

        Args:
            source: the account the money leaves.
            target: the account the money goes to.
            amount: how much to move, a positive whole number.
        """
        for name in (source, target):
            if name not in self._balances:
                raise ValueError(f"there is no account {name!r}; the accounts are {', '.join(self._balances)}")
        if source == target:
            raise ValueError("source and target must be different accounts")
        if amount <= 0:
            raise ValueError("amount must be positive")
        if self._balances[source] < amount:
            raise ValueError(f"{source} holds {self._balances[source]}, less than {amount}")
        self._balances[source] -= amount
        self._balances[target] += amount
        done = Transfer(source, target, amount)
        self._history.append(done)
        return done

    def history(self) -> list[Transfer]:
        """The transfers made so far, oldest first."""
        return list(self._history)

    def reconciled(self) -> bool:
        """Whether every account holds its target balance."""
        return self._balances == self._targets
