"""Online / last seen derived from the device's flag and its gateway's liveness."""
import datetime as dt

from server.store.devices import presence

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
LOGIN = NOW - dt.timedelta(hours=2)


def device(online=True, gateway="g1"):
    return {"online": online, "gateway_id": gateway, "last_seen": LOGIN}


def test_online_while_its_gateway_refreshes():
    gateways = {"g1": (NOW - dt.timedelta(seconds=5), False)}
    assert presence(device(), gateways, window=35, now=NOW) == (True, NOW - dt.timedelta(seconds=5))


def test_offline_when_its_gateway_crashed_or_stopped():
    crashed = {"g1": (NOW - dt.timedelta(minutes=5), False)}
    assert presence(device(), crashed, window=35, now=NOW) == (False, NOW - dt.timedelta(minutes=5))
    stopped = {"g1": (NOW - dt.timedelta(seconds=1), True)}
    assert presence(device(), stopped, window=35, now=NOW) == (False, NOW - dt.timedelta(seconds=1))


def test_offline_flag_or_unknown_gateway_keeps_the_stored_last_seen():
    gateways = {"g1": (NOW, False)}
    assert presence(device(online=False), gateways, window=35, now=NOW) == (False, LOGIN)
    assert presence(device(gateway="gone"), gateways, window=35, now=NOW) == (False, LOGIN)
