package com.example.pitchcast;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Consumes pitchcast's commentary, lines and dead letters (configuration: application.yml). */
@SpringBootApplication
public class PitchcastConsumerApplication {

    public static void main(String[] args) {
        SpringApplication.run(PitchcastConsumerApplication.class, args);
    }

}
