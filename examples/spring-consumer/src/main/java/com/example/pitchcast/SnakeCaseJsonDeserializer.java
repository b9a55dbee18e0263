package com.example.pitchcast;

import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.kafka.support.serializer.JacksonJsonDeserializer;

/**
 * Spring Kafka's {@link JacksonJsonDeserializer} with a mapper that reads pitchcast's
 * snake_case JSON into camelCase Java records ({@code commentary_id} to
 * {@code commentaryId}).
 *
 * <p>It is named as the delegate of {@code ErrorHandlingDeserializer} in application.yml
 * ({@code spring.deserializer.value.delegate.class}), so Kafka creates it and configures
 * it from the same properties as usual: the {@code spring.json.type.mapping} of the
 * {@code __TypeId__} tokens applies unchanged. The mapper is this class's own, so the
 * application's other JSON (REST and so on) keeps its naming.
 *
 * @param <T> the type the records are read into (decided per record by {@code __TypeId__})
 */
public class SnakeCaseJsonDeserializer<T> extends JacksonJsonDeserializer<T> {

    public SnakeCaseJsonDeserializer() {
        super(mapper());
    }

    /**
     * The mapper this deserializer reads with: snake_case names, and unknown properties
     * ignored, because pitchcast may add fields within a schema version
     * (docs/schema-evolution.md).
     */
    public static JsonMapper mapper() {
        return JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    }

}
