"""Kafka broker jars: resolved by Maven from Maven Central into a cache, once per version."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

from pitchcast.exceptions import StackError
from pitchcast.localstack.processes import Echo, require_tool, run_tool, tool_output

__all__ = ["KafkaJars"]

# Jars whose absence means a broken resolution rather than a broker that merely logs less.
_REQUIRED_JARS = (
    "kafka_2.13-{v}.jar",
    "kafka-clients-{v}.jar",
    "log4j-core-",
    "log4j-slf4j2-impl-",
)


class KafkaJars:
    """``<cache root>/kafka-<version>/libs``: the broker's classpath, resolved on demand."""

    def __init__(self, version: str, cache_root: Path, *, resolve_timeout_s: float) -> None:
        self._version = version
        self._cache = cache_root.expanduser().resolve() / f"kafka-{version}"
        self.libs = self._cache / "libs"
        self._resolve_timeout_s = resolve_timeout_s

    def ensure(self, echo: Echo) -> Path:
        complete = self._cache / "complete"
        if complete.exists() and self.look_whole():
            return self.libs
        mvn = require_tool("mvn", "resolving the Kafka jars from Maven Central")
        self._cache.mkdir(parents=True, exist_ok=True)
        with (self._cache / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # another process may be resolving right now
            if complete.exists() and self.look_whole():
                return self.libs
            echo(
                f"resolving Kafka {self._version} jars from Maven Central into {self.libs} "
                "(once per version) ..."
            )
            began = time.monotonic()
            pom = (
                resources.files("pitchcast.localstack")
                .joinpath("pom.xml")
                .read_text(encoding="utf-8")
            )
            (self._cache / "pom.xml").write_text(pom, encoding="utf-8")
            partial = self._cache / "libs.partial"
            shutil.rmtree(partial, ignore_errors=True)
            command = [
                mvn,
                "-q",
                "-B",
                "dependency:copy-dependencies",
                f"-Dkafka.version={self._version}",
                f"-Dpitchcast.libs={partial}",
            ]
            try:
                result = run_tool(command, cwd=self._cache, timeout_s=self._resolve_timeout_s)
            except subprocess.TimeoutExpired as exc:
                raise StackError(
                    f"Maven did not finish resolving Kafka {self._version} within "
                    f"{self._resolve_timeout_s:.0f} s (is Maven Central reachable?)"
                ) from exc
            if result.returncode != 0:
                raise StackError(
                    f"Maven could not resolve Kafka {self._version} (exit {result.returncode}): "
                    f"{tool_output(result, 15)}"
                )
            shutil.rmtree(self.libs, ignore_errors=True)
            partial.rename(self.libs)
            if not self.look_whole():
                raise StackError(f"Maven finished but {self.libs} lacks the Kafka or log4j jars")
            complete.write_text(f"{self._version}\n", encoding="utf-8")
            jars = len(list(self.libs.glob("*.jar")))
            echo(f"resolved {jars} jars in {time.monotonic() - began:.1f} s")
        return self.libs

    def look_whole(self) -> bool:
        if not self.libs.is_dir():
            return False
        names = [p.name for p in self.libs.glob("*.jar")]
        return all(
            any(n.startswith(prefix.format(v=self._version)) for n in names)
            for prefix in _REQUIRED_JARS
        )
