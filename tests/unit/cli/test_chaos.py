"""`pitchcast chaos` options as a user types them (refused before any scenario runs)."""

from __future__ import annotations

from click.testing import CliRunner

from pitchcast.cli import main


def test_a_negative_kill_count_is_refused() -> None:
    """--kills -2 ran the scenario as if no count was given (51 s against the broker)."""
    result = CliRunner().invoke(main, ["chaos", "sigkill", "--kills", "-2"])
    assert result.exit_code == 2, result.output
    assert "--kills" in result.output
