"""Words for counts and durations, as people write them."""


def counted(n: int, word: str) -> str:
    """`1 participant`, `2 participants`, `0 participants`: the count and its noun."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def duration(seconds: float | None) -> str:
    """`35.0s`, `5m29s`, `1h02m`; `-` when unknown: how long, in a report."""
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
