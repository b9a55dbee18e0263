"""The soak's growth rule, judged on planted series: flat passes, a leak fails by name."""

from __future__ import annotations

from pitchcast.chaos.soak import Sample, growth_problems


def _series(rss: list[float], *, worker: int = 0, fds: int = 40, tasks: int = 70) -> list[Sample]:
    return [
        Sample(
            at_s=15.0 * i,
            worker=worker,
            rss_mb=mb,
            fds=fds,
            tasks=tasks,
            redis_mb=5.0 + i,
            redis_keys=100 * i,
            changelog_records=1000 * i,
            lag_p50_s=0.5,
            lag_p90_s=1.0,
        )
        for i, mb in enumerate(rss)
    ]


def test_a_flat_run_with_a_warm_up_passes() -> None:
    # Climbs while warming up, then flat: Redis and the changelog grow by design.
    samples = _series([60, 80, 95, 100, 101, 100, 102, 101, 100, 102, 101, 101])
    assert growth_problems(samples) == []


def test_a_leaking_rss_fails_and_names_the_series_and_the_worker() -> None:
    leak = [100.0 + 12 * i for i in range(16)]  # +12 MB a sample, never levelling off
    (problem,) = growth_problems(_series(leak, worker=1))
    assert problem.startswith("worker1 rss_mb keeps growing")


def test_leaking_descriptors_or_tasks_fail_too() -> None:
    samples = _series([100.0] * 16)
    for i, sample in enumerate(samples):
        sample.fds = 40 + 5 * i
        sample.tasks = 70 + 10 * i
    problems = growth_problems(samples)
    assert [p.split()[1] for p in problems] == ["fds", "tasks"]


def test_each_worker_incarnation_is_judged_on_its_own() -> None:
    # The restarted worker starts higher (a new process): not a leak of the first one.
    samples = _series([100.0] * 12, worker=0) + _series([150.0] * 12, worker=1)
    assert growth_problems(samples) == []


def test_too_short_a_life_is_not_judged() -> None:
    assert growth_problems(_series([100, 200, 300, 400, 500, 600, 700])) == []
