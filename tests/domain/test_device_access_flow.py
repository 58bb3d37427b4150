"""The device access workflow as data: who acts at each step, no step skipped or repeated, the lists."""
from __future__ import annotations

import pytest

from server.domain import device_access_flow as flow
from server.domain.device_access_flow import SUPERVISOR, SUPPLIER, FlowError

HAPPY_PATH = [("submit", SUPPLIER), ("authorise_test", SUPERVISOR), ("report_test", SUPPLIER),
              ("authorise_production", SUPERVISOR), ("report_production", SUPPLIER), ("verify", SUPERVISOR)]


def walk(path):
    state = None
    for code, actor in path:
        state = flow.transition(state, code, actor).target
    return state


def test_the_happy_path_walks_the_four_steps_to_closed():
    state, steps = None, []
    for code, actor in HAPPY_PATH:
        action = flow.transition(state, code, actor)
        steps.append(action.step)
        state = action.target
    assert state == "completed" and steps == sorted(steps) and set(steps) == {1, 2, 3, 4}
    assert flow.STATES[state][2] is None  # 办结: nobody acts any more


def test_environment_follows_the_authorisations():
    assert flow.ENVIRONMENT.get(walk(HAPPY_PATH[:1])) is None
    assert flow.ENVIRONMENT[walk(HAPPY_PATH[:2])] == "test"
    assert flow.ENVIRONMENT[walk(HAPPY_PATH[:3])] == "test"
    assert flow.ENVIRONMENT[walk(HAPPY_PATH[:4])] == "production"
    assert flow.ENVIRONMENT[walk(HAPPY_PATH)] == "production"
    assert flow.ENVIRONMENT.get(walk(HAPPY_PATH + [("revoke", SUPERVISOR)])) is None


@pytest.mark.parametrize("k", range(len(HAPPY_PATH)))
def test_each_step_belongs_to_one_side(k):
    before = walk(HAPPY_PATH[:k])
    code, actor = HAPPY_PATH[k]
    other = SUPPLIER if actor == SUPERVISOR else SUPERVISOR
    with pytest.raises(FlowError) as exc:
        flow.transition(before, code, other)
    assert exc.value.status == 403 and "只能由" in exc.value.message


@pytest.mark.parametrize("k", range(1, len(HAPPY_PATH)))
def test_no_step_is_repeated_or_skipped(k):
    state = walk(HAPPY_PATH[:k])
    # Repeating the step just taken is refused with 409 and a Chinese reason.
    with pytest.raises(FlowError) as exc:
        flow.transition(state, *HAPPY_PATH[k - 1])
    assert exc.value.status == 409 and "当前状态为" in exc.value.message
    # Skipping ahead is refused too.
    for code, actor in HAPPY_PATH[k + 1:]:
        with pytest.raises(FlowError) as exc:
            flow.transition(state, code, actor)
        assert exc.value.status == 409


def test_refusal_and_returns():
    assert flow.transition("applied", "refuse", SUPERVISOR).target == "refused"
    assert flow.transition("test_passed", "return_test", SUPERVISOR).target == "test_authorised"
    assert flow.transition("check_requested", "return_check", SUPERVISOR).target == "production_authorised"
    with pytest.raises(FlowError):
        flow.transition("refused", "authorise_test", SUPERVISOR)
    with pytest.raises(FlowError):
        flow.transition("applied", "revoke", SUPERVISOR)  # nothing authorised yet
    for state in ("test_authorised", "test_passed", "production_authorised", "check_requested", "completed"):
        assert flow.transition(state, "revoke", SUPERVISOR).target == "revoked"
    with pytest.raises(FlowError) as exc:
        flow.transition("applied", "nonsense", SUPERVISOR)
    assert exc.value.status == 400


def test_lists_partition_the_states_per_side():
    for side in (SUPPLIER, SUPERVISOR):
        lists = [set(flow.states_in_list(side, name)) for name in flow.LISTS]
        assert set().union(*lists) == set(flow.STATES)
        assert sum(len(x) for x in lists) == len(flow.STATES)
    # 待办 of one side is 已办 of the other.
    assert set(flow.states_in_list(SUPPLIER, "todo")) == set(flow.states_in_list(SUPERVISOR, "done"))
    assert set(flow.states_in_list(SUPPLIER, "todo")) == {"test_authorised", "production_authorised"}
    assert set(flow.states_in_list(SUPERVISOR, "closed")) == {"completed", "refused", "revoked"}
    with pytest.raises(FlowError):
        flow.states_in_list(SUPPLIER, "all")


def test_next_actions_are_the_buttons_of_each_side():
    assert [a.code for a in flow.next_actions("applied", SUPERVISOR)] == ["authorise_test", "refuse"]
    assert flow.next_actions("applied", SUPPLIER) == []
    assert [a.code for a in flow.next_actions("test_authorised", SUPPLIER)] == ["report_test"]
    assert [a.code for a in flow.next_actions("completed", SUPERVISOR)] == ["revoke"]


def test_codes_fit_the_login_message():
    assert flow.code_problem("JMV-01_a.b") is None
    assert flow.code_problem("A" * 32) is None
    for bad in ("", "A" * 33, "厂商", "has space", "tab\t"):
        assert flow.code_problem(bad)
