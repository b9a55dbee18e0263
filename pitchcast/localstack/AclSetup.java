// Creates ACLs through Kafka's Admin client, for `pitchcast stack up --secure`.
//
//   java -cp 'libs/*' AclSetup.java admin.properties < entries
//
// admin.properties: the super user's client settings. Each line of standard input:
// PRINCIPAL<TAB>TOPIC|GROUP<TAB>NAME<TAB>OPERATION, created LITERAL, ALLOW, any host.
// Creating an ACL that exists is a no-op, so a second start changes nothing.

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class AclSetup {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) {
            config.load(in);
        }
        List<AclBinding> bindings = new ArrayList<>();
        BufferedReader lines = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            bindings.add(new AclBinding(
                new ResourcePattern(ResourceType.valueOf(f[1]), f[2], PatternType.LITERAL),
                new AccessControlEntry(f[0], "*", AclOperation.valueOf(f[3]), AclPermissionType.ALLOW)));
        }
        try (Admin admin = Admin.create(config)) {
            admin.createAcls(bindings).all().get(60, TimeUnit.SECONDS);
        }
        System.out.println("created " + bindings.size() + " ACLs");
    }
}
