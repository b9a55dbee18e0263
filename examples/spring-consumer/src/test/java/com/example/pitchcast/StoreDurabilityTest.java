package com.example.pitchcast;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A write the database committed survives the application dying right after it, as with
 * {@code kill -9} or an out-of-memory kill. The listener container commits a record's
 * offset once the store's transaction committed, so a commit that is not yet on disk is a
 * record lost for good: the restarted application resumes after it. H2 delays writing a
 * commit to its file by 500 ms by default ({@code WRITE_DELAY}); application.yml's URL
 * turns that off.
 *
 * <p>A child JVM opens the database at application.yml's URL (relative to the child's
 * working directory, a temporary one), commits one row and halts without closing anything;
 * the test then opens the same file and reads the row.
 */
class StoreDurabilityTest {

    @Test
    void aCommittedWriteSurvivesTheProcessDyingRightAfterIt(@TempDir Path workDir) throws Exception {
        String url = configuredUrl();
        assertThat(url).startsWith("jdbc:h2:file:./");

        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CommitThenDie.class.getName(), url)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(workDir.resolve("child.log").toFile())
            .start();
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(Files.readString(workDir.resolve("child.log"))).isEqualTo(CommitThenDie.HALTED);

        String file = url.substring("jdbc:h2:file:".length()).split(";", 2)[0];
        String reopened = "jdbc:h2:file:" + workDir.resolve(file).normalize() + ";IFEXISTS=TRUE";
        try (Connection connection = DriverManager.getConnection(reopened, "sa", "");
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery("SELECT COUNT(*) FROM durability_probe")) {
            rows.next();
            assertThat(rows.getInt(1)).as("rows committed before the process died").isEqualTo(1);
        }
    }

    private static String configuredUrl() throws IOException {
        StandardEnvironment environment = new StandardEnvironment();
        new YamlPropertySourceLoader().load("application", new ClassPathResource("application.yml"))
            .forEach(environment.getPropertySources()::addLast);
        return environment.getRequiredProperty("spring.datasource.url");
    }

    /** The child: a table flushed to disk, then one committed row, then death without a shutdown. */
    static final class CommitThenDie {

        static final int HALTED = 3;

        public static void main(String[] args) throws SQLException {
            Connection connection = DriverManager.getConnection(args[0], "sa", "");
            try (Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE durability_probe (id INTEGER PRIMARY KEY)");
                statement.execute("CHECKPOINT");
            }
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("INSERT INTO durability_probe VALUES (1)");
            }
            connection.commit();
            // No close, no shutdown hook (H2's would write the commit): as a killed JVM.
            Runtime.getRuntime().halt(HALTED);
        }

    }

}
