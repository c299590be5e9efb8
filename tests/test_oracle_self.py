"""The oracle checked against the SRE Workbook's worked numbers on hand-built inputs.

The oracle is only worth comparing with if it is right on its own, so each test
builds the smallest input whose answer is known from the Workbook's arithmetic
(chapter "Alerting on SLOs"), not from anything the code printed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import oracle
import pytest
from oracle import Request, alert_episodes, bucket_index, dedup

from schemas.manifest import ResolvedSlo, workbook_policy

DAY = date(2024, 3, 31)
MIDNIGHT = datetime(2024, 3, 31)
FIVE_MIN = timedelta(minutes=5)


def _logs_to_day_end(requests: list[Request], days: list[date]) -> list[Request]:
    """The oracle evaluates a tenant only as far as its logs reach (the horizon). These
    cases judge whole days, so acme also logs one request of another service (no SLO
    counts it) at the last second of the last day: after every step's windows."""
    end = datetime.combine(max(days), datetime.max.time()).replace(microsecond=0)
    return [*requests, req(end, rid="end-of-day", service="logs-reach-here")]


def burn_rates(requests: list[Request], slos: list[ResolvedSlo], days: list[date]) -> list:
    return oracle.burn_rates(_logs_to_day_end(requests, days), slos, days)


def error_budget(requests: list[Request], slos: list[ResolvedSlo], days: list[date]) -> list:
    return oracle.error_budget(_logs_to_day_end(requests, days), slos, days)


def alert_evaluations(
    requests: list[Request],
    slos: list[ResolvedSlo],
    rules: object,
    days: list[date],
    *args: object,
    warm_up: bool = False,
    **kwargs: object,
) -> list:
    """The oracle's evaluations; warm-up off unless asked for, since these cases check the
    windows' arithmetic on data that starts at the day (warm-up has its own cases)."""
    chosen = [rule.model_copy(update={"warm_up": warm_up}) for rule in rules]  # type: ignore[attr-defined]
    return oracle.alert_evaluations(
        _logs_to_day_end(requests, days), slos, chosen, days, *args, **kwargs
    )  # type: ignore[arg-type]


def slo(
    objective: float = 99.9, *, sli: str = "availability", period_days: int = 30
) -> ResolvedSlo:
    return ResolvedSlo(
        tenant_id="acme",
        cohort="standard",
        slo_name=f"api-{sli}",
        service="api",
        sli=sli,  # type: ignore[arg-type]
        objective=objective,
        threshold_ms=300.0 if sli == "latency" else None,
        period_days=period_days,
    )


def req(
    ts: datetime,
    status: int = 200,
    *,
    rid: str | None = None,
    replica: str = "r1",
    latency: float = 10.0,
    service: str = "api",
) -> Request:
    return Request(
        request_id=rid or f"{ts.isoformat()}-{status}-{latency}",
        ts=ts,
        tenant_id="acme",
        service=service,
        operation=None,
        status_code=status,
        latency_ms=latency,
        replica=replica,
    )


def steady(
    start: datetime, end: datetime, per_bucket: int, bad_per_bucket: int = 0
) -> list[Request]:
    """`per_bucket` requests in every 5-minute bucket of [start, end), the first few bad."""
    rows = []
    t = start
    while t < end:
        for i in range(per_bucket):
            status = 500 if i < bad_per_bucket else 200
            rows.append(req(t + timedelta(seconds=i), status, rid=f"{t.isoformat()}#{i}"))
        t += FIVE_MIN
    return rows


def by_step(rows: list[dict], **match: object) -> dict[datetime, dict]:
    return {r["eval_ts"]: r for r in rows if all(r[key] == value for key, value in match.items())}


def test_a_full_outage_of_a_999_slo_burns_at_1000x() -> None:
    # 100% errors against a 0.1% budget: burn rate 1 / 0.001 = 1000.
    outage = steady(MIDNIGHT + timedelta(hours=10), MIDNIGHT + timedelta(hours=11), 4, 4)
    rows = burn_rates(outage, [slo()], [DAY])
    at_11 = {r["window"]: r for r in rows if r["eval_ts"] == MIDNIGHT + timedelta(hours=11)}
    for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]:
        assert at_11[window]["burn_rate"] == pytest.approx(1000.0, rel=1e-12)
        assert at_11[window]["bad"] == at_11[window]["total"]
    assert at_11["1h"]["total"] == 48
    assert at_11["5m"]["total"] == 4


def test_a_full_outage_fires_every_rule_within_minutes() -> None:
    outage = steady(MIDNIGHT + timedelta(hours=10), MIDNIGHT + timedelta(hours=11), 4, 4)
    evaluations = alert_evaluations(
        outage, [slo()], workbook_policy(), [DAY], suppress_tickets_while_paging=False
    )
    episodes = {e["rule_name"]: e for e in alert_episodes(evaluations)}
    # The first step that sees a bucket of the outage is 10:05, and every rule fires
    # there (1000x > all thresholds); the 5m window empties at 11:05, so the page-1h
    # rule resolves then, while rules with longer short windows keep firing longer.
    assert set(episodes) == {"page-1h", "page-6h", "ticket-1d", "ticket-3d"}
    for episode in episodes.values():
        assert episode["started_at"] == MIDNIGHT + timedelta(hours=10, minutes=5)
        assert episode["peak_long_burn_rate"] == pytest.approx(1000.0)
    assert episodes["page-1h"]["resolved_at"] == MIDNIGHT + timedelta(hours=11, minutes=5)
    assert episodes["page-6h"]["resolved_at"] == MIDNIGHT + timedelta(hours=11, minutes=30)
    assert episodes["ticket-1d"]["resolved_at"] == MIDNIGHT + timedelta(hours=13)
    assert episodes["ticket-3d"]["resolved_at"] == MIDNIGHT + timedelta(hours=17)


def test_a_ticket_that_would_open_during_a_page_waits_for_the_page_to_end() -> None:
    outage = steady(MIDNIGHT + timedelta(hours=10), MIDNIGHT + timedelta(hours=11), 4, 4)
    evaluations = alert_evaluations(outage, [slo()], workbook_policy(), [DAY])
    episodes = {e["rule_name"]: e for e in alert_episodes(evaluations)}
    # The pages run 10:05-11:05 and 10:05-11:30; the tickets fire from 10:05 but open
    # only at 11:30, the first step without a page, and resolve as before.
    assert episodes["page-1h"]["started_at"] == MIDNIGHT + timedelta(hours=10, minutes=5)
    for rule, resolved in [("ticket-1d", 13), ("ticket-3d", 17)]:
        assert episodes[rule]["started_at"] == MIDNIGHT + timedelta(hours=11, minutes=30)
        assert episodes[rule]["resolved_at"] == MIDNIGHT + timedelta(hours=resolved)
    ticket = by_step(evaluations, rule_name="ticket-1d")
    assert ticket[MIDNIGHT + timedelta(hours=10, minutes=5)]["fires"]
    assert ticket[MIDNIGHT + timedelta(hours=10, minutes=5)]["suppressed"]
    assert not ticket[MIDNIGHT + timedelta(hours=11, minutes=30)]["suppressed"]


def test_a_ticket_already_open_when_a_page_starts_stays_open() -> None:
    # 1 of 20 bad against 99% is burn 5: both tickets fire from 00:05, no page does.
    # A full outage 12:00-13:00 then pages (page-6h from 12:05); the open ticket
    # escalates rather than being suppressed, so it stays one episode.
    rows = steady(MIDNIGHT, MIDNIGHT + timedelta(hours=12), 20, 1)
    rows += steady(MIDNIGHT + timedelta(hours=12), MIDNIGHT + timedelta(hours=13), 20, 20)
    rows += steady(MIDNIGHT + timedelta(hours=13), MIDNIGHT + timedelta(days=1), 20, 1)
    evaluations = alert_evaluations(rows, [slo(99.0)], workbook_policy(), [DAY])
    pages = by_step(evaluations, rule_name="page-6h")
    assert pages[MIDNIGHT + timedelta(hours=12, minutes=5)]["fires"]
    assert not any(row["suppressed"] for row in evaluations)
    episodes = [e for e in alert_episodes(evaluations) if e["rule_name"] == "ticket-1d"]
    assert [(e["started_at"], e["resolved_at"]) for e in episodes] == [
        (MIDNIGHT + timedelta(minutes=5), None)
    ]


def test_a_full_outage_exhausts_a_30_day_999_budget_in_43_minutes() -> None:
    # One request per bucket for 30 days: 8640 requests, a budget of 8.64 bad ones.
    # A full outage spends one per 5 minutes, so the budget lasts 43.2 minutes
    # (30 days * 0.1%): left after 40 minutes, gone after 45.
    outage_start = MIDNIGHT + timedelta(hours=12)
    rows = steady(outage_start - timedelta(days=30), outage_start, 1)
    rows += steady(outage_start, outage_start + timedelta(hours=1), 1, 1)
    budget = by_step(error_budget(rows, [slo()], [DAY]))
    after_40 = budget[outage_start + timedelta(minutes=40)]
    after_45 = budget[outage_start + timedelta(minutes=45)]
    assert after_40["bad"] == 8
    assert after_40["budget_remaining_percent"] == pytest.approx(100 * (1 - 8 / 8.64))
    assert after_40["time_to_exhaustion_hours"] > 0
    assert after_45["bad"] == 9
    assert after_45["budget_remaining_percent"] < 0
    assert after_45["time_to_exhaustion_hours"] == 0.0


def test_burning_at_14_4x_for_an_hour_spends_2_percent_of_a_30_day_budget() -> None:
    # Workbook: 14.4 = 2% of the budget * 720 hours / 1 hour. The fraction spent does
    # not depend on the objective, so a 95% SLO keeps the input small: 25 requests an
    # hour for 720 hours; in the last hour 18 of 25 fail, 0.72 / 0.05 = 14.4x.
    end = MIDNIGHT + timedelta(hours=12)
    rows = []
    for hour in range(720):
        start = end - timedelta(hours=720 - hour)
        bad = 18 if hour == 719 else 0
        rows += [
            req(start + timedelta(minutes=2 * i), 500 if i < bad else 200, rid=f"{hour}/{i}")
            for i in range(25)
        ]
    ninety_five = slo(95.0)
    burn = {r["window"]: r for r in burn_rates(rows, [ninety_five], [DAY]) if r["eval_ts"] == end}
    assert burn["1h"]["burn_rate"] == pytest.approx(14.4, rel=1e-12)
    budget = by_step(error_budget(rows, [ninety_five], [DAY]))[end]
    assert budget["total"] == 720 * 25
    assert budget["budget_consumed_percent"] == pytest.approx(2.0, rel=1e-12)


def test_burn_rate_1_spends_the_budget_exactly_over_the_period() -> None:
    # 10% bad against a 90% objective is burn rate 1: after a whole period of it the
    # budget is exactly spent, and a period half clean, half at 1x, has half left,
    # which lasts the other half of the period at 1x (time to exhaustion 15 days).
    end = MIDNIGHT + timedelta(hours=6)
    burning = steady(end - timedelta(days=30), end, 10, 1)
    budget = by_step(error_budget(burning, [slo(90.0)], [DAY]))[end]
    assert budget["budget_consumed_percent"] == pytest.approx(100.0, rel=1e-12)
    assert budget["budget_remaining_percent"] == pytest.approx(0.0, abs=1e-10)
    assert budget["time_to_exhaustion_hours"] == pytest.approx(0.0, abs=1e-9)

    half = steady(end - timedelta(days=30), end - timedelta(days=15), 10, 0)
    half += steady(end - timedelta(days=15), end, 10, 1)
    budget = by_step(error_budget(half, [slo(90.0)], [DAY]))[end]
    assert budget["budget_consumed_percent"] == pytest.approx(50.0, rel=1e-12)
    assert budget["time_to_exhaustion_hours"] == pytest.approx(15 * 24, rel=1e-12)


def test_a_burn_too_slow_to_spend_the_budget_within_the_period_has_no_exhaustion_time() -> None:
    # 10 % bad against a 50 % objective, steadily for a period: burn 0.2 on every window,
    # so 80 % of the budget is left and would last 0.8 * 720 h / 0.2 = 2880 h, longer
    # than the 720-hour period: "not within the period", null rather than a big number.
    end = MIDNIGHT + timedelta(hours=6)
    slow = steady(end - timedelta(days=30), end, 10, 1)
    budget = by_step(error_budget(slow, [slo(50.0)], [DAY]))[end]
    assert budget["budget_remaining_percent"] == pytest.approx(80.0, rel=1e-12)
    assert budget["time_to_exhaustion_hours"] is None
    # A day at about 1x (10 % bad of a 90 % objective) whose last hour is clean: the 1h
    # burn is 0, yet the hours come from the 1d window's burn.
    recent = steady(end - timedelta(days=1), end - timedelta(hours=1), 10, 1)
    recent += steady(end - timedelta(hours=1), end, 10, 0)
    budget = by_step(error_budget(recent, [slo(90.0)], [DAY]))[end]
    burn_1d = (23 * 12) / (24 * 12 * 10) / 0.1
    left = 100 - budget["budget_consumed_percent"]
    assert budget["time_to_exhaustion_hours"] == pytest.approx(left / 100 * 720 / burn_1d)


def test_windows_without_requests_have_no_burn_rate_and_do_not_fire() -> None:
    one = [req(MIDNIGHT + timedelta(hours=3, minutes=1), 500)]
    rows = burn_rates(one, [slo()], [DAY])
    at = {(r["eval_ts"], r["window"]): r for r in rows}
    # Before the request every window is empty: no data, not zero errors.
    assert at[(MIDNIGHT + timedelta(hours=3), "3d")]["burn_rate"] is None
    assert at[(MIDNIGHT + timedelta(hours=3), "3d")]["total"] == 0
    # The 5m window holds it only at 03:05; at 03:10 it is empty again.
    assert at[(MIDNIGHT + timedelta(hours=3, minutes=5), "5m")]["burn_rate"] == pytest.approx(
        1000.0
    )
    assert at[(MIDNIGHT + timedelta(hours=3, minutes=10), "5m")]["burn_rate"] is None
    assert at[(MIDNIGHT + timedelta(hours=3, minutes=10), "1h")]["burn_rate"] == pytest.approx(
        1000.0
    )
    evaluations = alert_evaluations(one, [slo()], workbook_policy(), [DAY])
    page = by_step(evaluations, rule_name="page-1h")
    assert page[MIDNIGHT + timedelta(hours=3, minutes=5)]["fires"]
    assert not page[MIDNIGHT + timedelta(hours=3, minutes=10)]["fires"]
    assert page[MIDNIGHT + timedelta(hours=3, minutes=10)]["short_burn_rate"] is None
    budget = by_step(error_budget([], [slo()], [DAY]))[MIDNIGHT]
    assert budget["budget_consumed_percent"] is None
    assert budget["budget_remaining_percent"] is None
    assert budget["time_to_exhaustion_hours"] is None


def test_every_slo_gets_every_step_and_window_of_every_day_even_without_traffic() -> None:
    days = [DAY, DAY + timedelta(days=1)]
    rows = burn_rates([], [slo(), slo(sli="latency")], days)
    assert len(rows) == 2 * 2 * 288 * 7
    steps = sorted({r["eval_ts"] for r in rows})
    assert steps[0] == MIDNIGHT
    assert steps[-1] == MIDNIGHT + timedelta(days=2) - FIVE_MIN
    assert all(r["burn_rate"] is None and r["total"] == 0 for r in rows)


def test_a_window_ending_at_t_excludes_a_request_at_exactly_t() -> None:
    t = MIDNIGHT + timedelta(hours=1)
    rows = burn_rates([req(t, 500), req(t - timedelta(microseconds=1))], [slo()], [DAY])
    at_t = {r["window"]: r for r in rows if r["eval_ts"] == t}
    assert at_t["5m"]["total"] == 1
    assert at_t["5m"]["bad"] == 0
    assert bucket_index(t) == bucket_index(t + FIVE_MIN - timedelta(microseconds=1))


def test_a_rule_fires_only_strictly_above_its_threshold() -> None:
    # 6 of 100 requests bad against a 99% objective is 6x, on the page-6h threshold.
    end = MIDNIGHT + timedelta(hours=8)
    rows = steady(end - timedelta(hours=8), end, 100, 6)
    evaluations = alert_evaluations(rows, [slo(99.0)], workbook_policy(), [DAY])
    page_6h = by_step(evaluations, rule_name="page-6h")[end]
    assert page_6h["long_burn_rate"] == pytest.approx(6.0)
    assert page_6h["short_burn_rate"] == pytest.approx(6.0)
    # Float division may land a hair either side of 6.0: fires iff strictly above it.
    assert page_6h["fires"] == (
        page_6h["long_burn_rate"] > 6.0 and page_6h["short_burn_rate"] > 6.0
    )
    assert by_step(evaluations, rule_name="ticket-1d")[end]["fires"]


def test_latency_sli_counts_requests_slower_than_the_threshold() -> None:
    t = MIDNIGHT + timedelta(hours=2)
    rows = [
        req(t, latency=300.0),  # at the threshold: good
        req(t + timedelta(seconds=1), latency=300.5),  # above: bad
        req(t + timedelta(seconds=2), 503, latency=1.0),  # an error, but fast: good
    ]
    burn = burn_rates(rows, [slo(99.0, sli="latency")], [DAY])
    at = {r["window"]: r for r in burn if r["eval_ts"] == t + FIVE_MIN}
    assert (at["5m"]["total"], at["5m"]["bad"]) == (3, 1)


def test_requests_of_other_services_and_tenants_do_not_count() -> None:
    t = MIDNIGHT + timedelta(hours=2)
    other_tenant = Request("x", t, "globex", "api", None, 500, 1.0, "r1")
    rows = [req(t, 500, service="web"), other_tenant]
    burn = burn_rates(rows, [slo()], [DAY])
    assert all(r["total"] == 0 for r in burn)


def test_dedup_keeps_the_earliest_copy_and_breaks_ties_by_replica() -> None:
    t = MIDNIGHT + timedelta(hours=1)
    copies = [
        req(t + timedelta(milliseconds=3), 200, rid="a", replica="r0"),
        req(t, 500, rid="a", replica="r9"),
        req(t + timedelta(milliseconds=1), 200, rid="b", replica="r2"),
        req(t + timedelta(milliseconds=1), 500, rid="b", replica="r10"),  # "r10" < "r2"
    ]
    for order in (copies, copies[::-1]):
        kept = dedup(order)
        assert kept[("acme", "a")].replica == "r9"
        assert kept[("acme", "b")].replica == "r10"
    # The same request id under two tenants is two requests.
    assert len(dedup([*copies, Request("a", t, "globex", "api", None, 200, 1.0, "r1")])) == 3


def test_an_episode_still_firing_at_the_last_step_has_no_resolution() -> None:
    end = MIDNIGHT + timedelta(days=1)
    rows = steady(end - timedelta(hours=1), end, 4, 4)
    episodes = alert_episodes(alert_evaluations(rows, [slo()], workbook_policy(), [DAY]))
    page = [e for e in episodes if e["rule_name"] == "page-1h"]
    assert len(page) == 1
    assert page[0]["started_at"] == end - timedelta(minutes=55)
    assert page[0]["resolved_at"] is None


def _first_firing(evaluations: list, rule_name: str) -> datetime | None:
    steps = sorted(r["eval_ts"] for r in evaluations if r["rule_name"] == rule_name and r["fires"])
    return steps[0] if steps else None


def test_warm_up_holds_a_rule_until_its_long_window_is_all_logs() -> None:
    # A full outage from the tenant's very first request at 08:00: page-1h would fire at
    # 08:05 on a window holding 5 minutes of logs; warmed up, it waits for 09:00, and
    # page-6h for 14:00.
    start = MIDNIGHT + timedelta(hours=8)
    rows = steady(start, MIDNIGHT + timedelta(days=1), 4, 4)
    evaluations = alert_evaluations(rows, [slo()], workbook_policy(), [DAY], warm_up=True)
    assert _first_firing(evaluations, "page-1h") == start + timedelta(hours=1)
    assert _first_firing(evaluations, "page-6h") == start + timedelta(hours=6)
    assert _first_firing(evaluations, "ticket-1d") is None
    warming = by_step(evaluations, rule_name="page-1h")[start + timedelta(minutes=55)]
    assert warming["state"] == "warming_up" and not warming["fires"]


def test_warm_up_starts_again_after_a_gap_longer_than_max_silence() -> None:
    # Healthy logs from midnight, none from 06:00 to 06:20 (20 minutes > 15), then a
    # full outage: page-1h waits an hour from 06:20. Without the gap it fires at once.
    before = steady(MIDNIGHT, MIDNIGHT + timedelta(hours=6), 4)
    resume = MIDNIGHT + timedelta(hours=6, minutes=20)
    outage = steady(resume, MIDNIGHT + timedelta(days=1), 4, 4)
    rules = [rule for rule in workbook_policy() if rule.name == "page-1h"]
    evaluations = alert_evaluations(before + outage, [slo()], rules, [DAY], warm_up=True)
    assert _first_firing(evaluations, "page-1h") == resume + timedelta(hours=1)
    no_gap = steady(MIDNIGHT + timedelta(hours=6), resume, 4)
    evaluations = alert_evaluations(before + no_gap + outage, [slo()], rules, [DAY], warm_up=True)
    assert _first_firing(evaluations, "page-1h") == resume + FIVE_MIN
