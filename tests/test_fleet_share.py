"""A daemon's share of the fleet budget, from the consumers the broker counts (the broker
itself in tests/services/test_fleet_budget.py)."""

from __future__ import annotations

import pytest

from edeposit.amqp.catalogue.ratelimiter import RateLimiter
from edeposit.amqp.config import Settings
from edeposit.amqp.daemon.fleet_share import FleetShare, start_fleet_share


def test_the_share_follows_the_consumers_on_every_limiter() -> None:
    limiters = [RateLimiter(0), RateLimiter(100.0)]
    share = FleetShare(60.0, "daemon", lambda: None, limiters)
    assert share.share == 60.0  # before the first reading: the whole budget
    share.settle(4)
    assert (share.consumers, share.share) == (4, 15.0)
    assert [limiter.rate for limiter in limiters] == [pytest.approx(15.0)] * 2
    share.settle(3)
    assert limiters[0].rate == pytest.approx(20.0)
    share.settle(0)  # not counted yet (reconnecting): never more than the whole budget
    assert limiters[0].rate == pytest.approx(60.0)


def test_several_own_consumers_take_as_many_shares() -> None:
    limiter = RateLimiter(0)
    share = FleetShare(60.0, "daemon", lambda: None, [limiter], own_consumers=2)
    share.settle(6)
    assert limiter.rate == pytest.approx(20.0)


def test_no_reading_without_a_connection() -> None:
    assert not FleetShare(10.0, "daemon", lambda: None, [RateLimiter(0)]).refresh()


def test_no_budget_no_share() -> None:
    assert start_fleet_share(Settings(), "daemon", lambda: None, [RateLimiter(0)]) is None
    with pytest.raises(ValueError, match="positive"):
        FleetShare(0.0, "daemon", lambda: None, [])
