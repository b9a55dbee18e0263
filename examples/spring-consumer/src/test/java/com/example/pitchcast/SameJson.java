package com.example.pitchcast;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compares two JSON documents read into plain Java values (maps, lists, numbers, strings),
 * as a contract check: the same field names at every level, equal numbers whatever their
 * Java type, and timestamps ({@code *_at}) equal as instants whatever their precision.
 */
final class SameJson {

    private SameJson() {
    }

    /** The differences between {@code expected} and {@code actual}; empty when they match. */
    static List<String> differences(Object expected, Object actual) {
        List<String> out = new ArrayList<>();
        compare("$", expected, actual, out);
        return out;
    }

    private static void compare(String path, Object expected, Object actual, List<String> out) {
        if (expected instanceof Map<?, ?> want && actual instanceof Map<?, ?> got) {
            TreeSet<String> keys = new TreeSet<>();
            want.keySet().forEach((k) -> keys.add(String.valueOf(k)));
            got.keySet().forEach((k) -> keys.add(String.valueOf(k)));
            for (String key : keys) {
                if (!want.containsKey(key)) {
                    out.add(path + "." + key + ": not in the message");
                }
                else if (!got.containsKey(key)) {
                    out.add(path + "." + key + ": not mapped");
                }
                else {
                    compare(path + "." + key, want.get(key), got.get(key), out);
                }
            }
        }
        else if (expected instanceof List<?> want && actual instanceof List<?> got) {
            if (want.size() != got.size()) {
                out.add(path + ": " + want.size() + " elements, mapped " + got.size());
                return;
            }
            for (int i = 0; i < want.size(); i++) {
                compare(path + "[" + i + "]", want.get(i), got.get(i), out);
            }
        }
        else if (expected instanceof Number want && actual instanceof Number got) {
            boolean integral = isIntegral(want) && isIntegral(got);
            boolean same = integral ? want.longValue() == got.longValue()
                    : Double.compare(want.doubleValue(), got.doubleValue()) == 0;
            if (!same) {
                out.add(path + ": " + want + " != " + got);
            }
        }
        else if (path.endsWith("_at") && expected instanceof String want && actual instanceof String got) {
            if (!Instant.parse(want).equals(Instant.parse(got))) {
                out.add(path + ": " + want + " != " + got);
            }
        }
        else if (expected == null ? actual != null : !expected.equals(actual)) {
            out.add(path + ": " + expected + " != " + actual);
        }
    }

    private static boolean isIntegral(Number number) {
        return number instanceof Integer || number instanceof Long || number instanceof Short
                || number instanceof java.math.BigInteger;
    }

}
