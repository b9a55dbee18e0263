package com.example.pitchcast;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The tests' side of the broker: send fixture records, wait until the application's
 * consumer group has committed everything on its topics (every record stored or
 * dead-lettered), read a dead-letter topic.
 */
final class KafkaProbe implements AutoCloseable {

    private final String bootstrap;

    private final Admin admin;

    private final KafkaProducer<String, byte[]> producer;

    KafkaProbe(String bootstrap) {
        this.bootstrap = bootstrap;
        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        this.admin = Admin.create(adminProps);
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        this.producer = new KafkaProducer<>(producerProps, new StringSerializer(), new ByteArraySerializer());
    }

    /** Sends the records in order and waits for the broker's acks. */
    void send(String topic, Collection<Fixtures.Fixture> records) throws Exception {
        for (Fixtures.Fixture record : records) {
            this.producer.send(new ProducerRecord<>(topic, null, record.key(), record.value(), record.headers())).get();
        }
    }

    void send(String topic, Fixtures.Fixture record) throws Exception {
        send(topic, List.of(record));
    }

    /** Waits until {@code group} has committed the end offset of every partition of {@code topics}. */
    void awaitConsumed(String group, Set<String> topics, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Map<TopicPartition, Long> behind = behind(group, topics);
        while (!behind.isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
            behind = behind(group, topics);
        }
        if (!behind.isEmpty()) {
            throw new AssertionError("group " + group + " has not consumed everything after " + timeout
                    + "; records left per partition: " + behind);
        }
    }

    private Map<TopicPartition, Long> behind(String group, Set<String> topics) throws Exception {
        Map<String, TopicDescription> described = this.admin.describeTopics(topics).allTopicNames().get();
        Map<TopicPartition, OffsetSpec> latest = described.values()
            .stream()
            .flatMap((d) -> d.partitions().stream().map((p) -> new TopicPartition(d.name(), p.partition())))
            .collect(Collectors.toMap((tp) -> tp, (tp) -> OffsetSpec.latest()));
        Map<TopicPartition, ListOffsetsResultInfo> ends = this.admin.listOffsets(latest).all().get();
        Map<TopicPartition, OffsetAndMetadata> committed = this.admin.listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get();
        return ends.entrySet()
            .stream()
            .filter((e) -> {
                OffsetAndMetadata at = committed.get(e.getKey());
                return (at == null ? 0L : at.offset()) < e.getValue().offset();
            })
            .collect(Collectors.toMap(Map.Entry::getKey,
                    (e) -> e.getValue().offset() - (committed.get(e.getKey()) == null ? 0L
                            : committed.get(e.getKey()).offset())));
    }

    /** How many records {@code topic} holds (its partitions' end offsets: nothing is deleted in a test). */
    long count(String topic) throws Exception {
        TopicDescription described = this.admin.describeTopics(Set.of(topic)).allTopicNames().get().get(topic);
        Map<TopicPartition, OffsetSpec> latest = described.partitions()
            .stream()
            .collect(Collectors.toMap((p) -> new TopicPartition(topic, p.partition()), (p) -> OffsetSpec.latest()));
        return this.admin.listOffsets(latest).all().get().values().stream().mapToLong(ListOffsetsResultInfo::offset).sum();
    }

    /** Every record of {@code topic} from the beginning, once there are {@code count} (or the timeout). */
    List<ConsumerRecord<String, byte[]>> readAll(String topic, int count, Duration timeout) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, this.bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout)
                .stream()
                .map((p) -> new TopicPartition(topic, p.partition()))
                .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Instant deadline = Instant.now().plus(timeout);
            while (records.size() < count && Instant.now().isBefore(deadline)) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            // Anything beyond the expected count would be a failure too.
            consumer.poll(Duration.ofMillis(300)).forEach(records::add);
        }
        return records;
    }

    @Override
    public void close() {
        this.producer.close();
        this.admin.close();
    }

}
