"""Background jobs: queued on the bus, run in chunks by functions/jobs.py, resumed from their
checkpoint after a failed attempt or when their time is up, cancellable, readable through the API
by their creator (and administrators) only."""
from __future__ import annotations

import pytest

from chalicelib.core import clock, context
from chalicelib.jobs import service as jobs
from chalicelib.org import service as org

UNITS = 10
CHUNK = 3
written: dict[str, list[int]] = {}  # job id -> units processed, in order (a unit processed twice shows twice)
behaviour: dict[str, dict] = {}  # job id -> {"fail_at": unit, "stop_after_chunk": bool, "cancel_at": unit}


def _counter(ctx: jobs.JobContext) -> bool:
    """A runner that processes UNITS units in chunks of CHUNK, saving after each chunk."""
    job_id = ctx.job["id"]
    plan = behaviour.setdefault(job_id, {})
    at = int(ctx.checkpoint.get("next", 0))
    while at < UNITS:
        chunk = list(range(at, min(at + CHUNK, UNITS)))
        for unit in chunk:
            if plan.get("fail_at") == unit:
                plan.pop("fail_at")  # fails once: the crash of one attempt
                raise RuntimeError("the disk went away")
            if plan.get("cancel_at") == unit:
                jobs.cancel(ctx.principal, job_id)  # someone cancels while it runs
        written.setdefault(job_id, []).extend(chunk)
        at = chunk[-1] + 1
        ctx.save(checkpoint={"next": at}, done=at, total=UNITS)
        if plan.pop("stop_after_chunk", False):
            return False  # time is up: queued again, resumes from the checkpoint
    ctx.finish({"units": at})
    return True


def _always_fails(ctx: jobs.JobContext) -> bool:
    raise ValueError("bad input file")


def _refused(ctx: jobs.JobContext) -> bool:
    from chalicelib.core.errors import NotFound

    raise NotFound("entity.job")


@pytest.fixture()
def team(api, sales_team):
    jobs.install({"test_counter": _counter, "test_failing": _always_fails, "test_refused": _refused})
    return sales_team


def _create(team, who: str, kind: str = "test_counter", **plan) -> dict:
    with context.acting_as(context.RequestContext(tenant_id=team["id"], user_id=team[who])):
        job = jobs.create(org.principal(), kind, {"file": "x.csv"}, label=("测试任务", "Test job"))
    behaviour[job["id"]] = dict(plan)
    return job


def test_given_a_queued_job_when_the_queue_runs_then_it_succeeds_and_its_creator_sees_the_progress(api, team):
    job = _create(team, "rep1")
    assert job["status"] == "queued"
    assert jobs.run_queued() == 1
    assert written[job["id"]] == list(range(UNITS))
    r = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"])
    assert r.status_code == 200, r.data
    assert r.data["status"] == "succeeded"
    assert r.data["progress"] == {"total": UNITS, "done": UNITS, "errors": 0}
    assert r.data["result"] == {"units": UNITS}
    assert r.data["label"] == "测试任务"
    mine = api.call("GET", "/v1/jobs", team["tokens"]["rep1"]).data["items"]
    assert [j["id"] for j in mine] == [job["id"]]


def test_given_someone_elses_job_when_read_then_404_except_for_an_administrator(api, team):
    job = _create(team, "rep1")
    assert api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep2"]).status_code == 404
    assert api.call("POST", f"/v1/jobs/{job['id']}/cancel", team["tokens"]["rep2"]).status_code == 404
    assert api.call("GET", "/v1/jobs?all=true", team["tokens"]["rep2"]).status_code == 403
    assert api.call("GET", f"/v1/jobs/{job['id']}", team["admin"]).status_code == 200
    every = api.call("GET", "/v1/jobs?all=true", team["admin"]).data["items"]
    assert job["id"] in [j["id"] for j in every]


def test_given_a_failed_attempt_when_queued_again_then_it_resumes_from_the_checkpoint_and_no_unit_runs_twice(api, team):
    job = _create(team, "rep1", fail_at=7)  # the third chunk (6..8) crashes half-way, before its save
    jobs.run_queued()
    assert written[job["id"]] == list(range(UNITS))  # 0..5 saved before the crash are not redone; 6..8 never saved
    got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
    assert got["status"] == "succeeded"
    assert (got["attempts"], got["failures"]) == (2, 1)
    assert got["error"] == "任务执行时发生内部错误（已记录），请稍后重试或联系管理员"  # never the exception's own text


def test_given_a_runner_out_of_time_when_it_stops_then_the_next_invocation_continues(api, team):
    job = _create(team, "rep1", stop_after_chunk=True)
    assert jobs.run_queued() == 2
    assert written[job["id"]] == list(range(UNITS))
    got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
    assert (got["attempts"], got["failures"]) == (2, 0)  # a continuation is not a failure


def test_given_a_runner_that_always_fails_then_the_job_fails_after_the_last_attempt(api, team):
    job = _create(team, "rep1", kind="test_failing")
    jobs.run_queued()
    got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
    assert got["status"] == "failed"
    assert got["attempts"] == got["failures"] == jobs.MAX_ATTEMPTS
    assert "bad input file" not in got["error"] and "内部错误" in got["error"]


def test_given_a_job_failing_with_one_of_our_errors_then_each_reader_sees_it_in_their_language(api, team):
    job = _create(team, "rep1", kind="test_refused")
    jobs.run_queued()
    zh = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
    en = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"], headers={"Accept-Language": "en"}).data
    assert (zh["status"], zh["failures"]) == ("failed", 1)  # a refusal is not retried: it would come again
    assert zh["error"] == "后台任务不存在或已删除" and zh["label"] == "测试任务"
    assert en["error"] == "Job not found or deleted" and en["label"] == "Test job"


def test_given_invocations_that_die_when_claimed_again_then_each_counts_and_the_last_fails_the_job(api, team):
    job = _create(team, "rep1")
    for died in range(1, jobs.MAX_ATTEMPTS + 1):
        assert jobs._claim(team["id"], job["id"]) is not None  # an invocation starts, then its Lambda times out
        clock.travel(16 * 60)
        got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
        assert (got["status"], got["failures"]) == ("running", died - 1)
    assert jobs.run(team["id"], job["id"]) is None  # the fifth death is seen by the next delivery: no more tries
    got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"], headers={"Accept-Language": "en"}).data
    assert (got["status"], got["failures"]) == ("failed", jobs.MAX_ATTEMPTS)
    assert "time or memory ran out" in got["error"]
    assert job["id"] not in written


def test_given_a_job_whose_invocation_died_when_cancelled_or_left_alone_then_it_ends(api, team):
    dead = _create(team, "rep1")
    jobs._claim(team["id"], dead["id"])
    assert api.call("POST", f"/v1/jobs/{dead['id']}/cancel", team["tokens"]["rep1"]).data["status"] == "running"  # held
    clock.travel(16 * 60)
    assert api.call("POST", f"/v1/jobs/{dead['id']}/cancel", team["tokens"]["rep1"]).data["status"] == "cancelled"
    stalled = _create(team, "rep1")
    jobs._claim(team["id"], stalled["id"])
    clock.travel(16 * 60 + jobs.STALLED.total_seconds())  # the queue gave its message up: no invocation comes
    got = api.call("GET", f"/v1/jobs/{stalled['id']}", team["tokens"]["rep1"]).data
    assert got["status"] == "failed"


def test_given_a_queued_job_when_cancelled_then_it_never_runs_and_a_finished_one_cannot_be_cancelled(api, team):
    job = _create(team, "rep1")
    r = api.call("POST", f"/v1/jobs/{job['id']}/cancel", team["tokens"]["rep1"])
    assert r.status_code == 200 and r.data["status"] == "cancelled"
    jobs.run_queued()
    assert job["id"] not in written
    again = api.call("POST", f"/v1/jobs/{job['id']}/cancel", team["tokens"]["rep1"], headers={"Accept-Language": "en"})
    assert again.status_code == 409
    assert again.data["code"] == "JOB_FINISHED" and "cancelled" in again.data["message"]


def test_given_a_running_job_when_cancelled_then_it_stops_at_its_next_save(api, team):
    job = _create(team, "rep1", cancel_at=4)
    jobs.run_queued()
    got = api.call("GET", f"/v1/jobs/{job['id']}", team["tokens"]["rep1"]).data
    assert got["status"] == "cancelled"
    assert written[job["id"]] == [0, 1, 2, 3, 4, 5]  # the chunk in hand is done, its save refused
    assert got["progress"]["done"] == 3


def test_given_a_job_held_by_one_invocation_when_the_event_comes_again_then_the_second_leaves_it(api, team):
    job = _create(team, "rep1")
    held = jobs._claim(team["id"], job["id"])
    assert held is not None
    assert jobs.run(team["id"], job["id"]) is None  # a second delivery while the first runs
    assert job["id"] not in written
    clock.travel(16 * 60)  # the first invocation died with its Lambda (15 minutes): its lease lapsed
    assert jobs.run(team["id"], job["id"]) == "succeeded"
    assert written[job["id"]] == list(range(UNITS))
