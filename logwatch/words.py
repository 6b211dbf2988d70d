"""Words for counts, as people write them."""


def counted(n: int, word: str) -> str:
    """`1 participant`, `2 participants`, `0 participants`: the count and its noun."""
    return f"{n} {word}{'' if n == 1 else 's'}"
