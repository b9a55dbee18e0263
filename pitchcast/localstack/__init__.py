"""A local Apache Kafka broker and Redis for machines without Docker (``pitchcast stack``).

Kafka is the real broker from the ``org.apache.kafka:kafka_2.13`` jars, which Maven
resolves from Maven Central into a cache folder once per version; it runs as a single
KRaft node (broker and controller in one JVM) listening on 127.0.0.1 only. Redis is
Debian's ``redis-server``. Both run detached, so they outlive the command that started
them, and leave a PID file under ``settings.stack_dir``::

    <stack_dir>/kafka/server.properties   broker configuration, rewritten on every start
    <stack_dir>/kafka/data/               the log (kept across down/up)
    <stack_dir>/kafka/logs/server.log     the broker's log; stdout.log has its console
    <stack_dir>/kafka/kafka.pid
    <stack_dir>/redis/redis.log, redis.pid

``down`` stops only processes whose PID file this stack wrote and whose command line
still identifies them as ours, so a recycled PID is never signalled.
"""

from pitchcast.localstack.stack import LocalStack

__all__ = ["LocalStack"]
