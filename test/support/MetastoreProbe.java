import java.util.Arrays;
import java.util.Collections;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.HiveMetaStoreClient;
import org.apache.hadoop.hive.metastore.api.Database;
import org.apache.hadoop.hive.metastore.api.FieldSchema;
import org.apache.hadoop.hive.metastore.api.Partition;
import org.apache.hadoop.hive.metastore.api.SerDeInfo;
import org.apache.hadoop.hive.metastore.api.StorageDescriptor;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * A Thrift client of a Hive metastore, for keelson's tests: `MetastoreProbe <thrift URI> [database
 * [location]]` creates the database when one is named, then prints `database: <name>` for every
 * database the metastore lists.
 *
 * With `-Dprobe.table=<name>` and a database, it also creates an external table of that name in it,
 * partitioned by a string column `day`, adds the partition `day=2026-12-01`, and prints
 * `partition: <value>` for each partition a filter on `day` finds: the metastore answers such a
 * filter with its database-specific SQL, so the database's dialect is exercised, not only its ORM.
 *
 * With `-Dprobe.serverPrincipal=<principal>` it speaks SASL (GSSAPI) to a metastore of that
 * Kerberos principal, with Hadoop's Kerberos security on; with `-Dprobe.user=<principal>` and
 * `-Dprobe.keytab=<file>` as well it logs in from that keytab first (without, it has no ticket).
 * The JVM reads krb5.conf from `-Djava.security.krb5.conf`.
 */
public class MetastoreProbe {
  public static void main(String[] args) throws Exception {
    Configuration conf = MetastoreConf.newMetastoreConf();
    MetastoreConf.setVar(conf, MetastoreConf.ConfVars.THRIFT_URIS, args[0]);
    String serverPrincipal = System.getProperty("probe.serverPrincipal");
    if (serverPrincipal != null) {
      conf.set("hadoop.security.authentication", "kerberos");
      MetastoreConf.setBoolVar(conf, MetastoreConf.ConfVars.USE_THRIFT_SASL, true);
      MetastoreConf.setVar(conf, MetastoreConf.ConfVars.KERBEROS_PRINCIPAL, serverPrincipal);
      UserGroupInformation.setConfiguration(conf);
      String user = System.getProperty("probe.user");
      if (user != null) {
        UserGroupInformation.loginUserFromKeytab(user, System.getProperty("probe.keytab"));
        System.out.println("logged in as " + UserGroupInformation.getLoginUser().getUserName());
      }
    }
    HiveMetaStoreClient client = new HiveMetaStoreClient(conf);
    try {
      if (args.length > 1) {
        Database database = new Database();
        database.setName(args[1]);
        if (args.length > 2) database.setLocationUri(args[2]);
        client.createDatabase(database);
      }
      for (String name : client.getAllDatabases()) System.out.println("database: " + name);
      String table = System.getProperty("probe.table");
      if (table != null && args.length > 1) partitionedTable(client, args[1], table);
    } finally {
      client.close();
    }
  }

  private static void partitionedTable(HiveMetaStoreClient client, String database, String name)
      throws Exception {
    StorageDescriptor sd = new StorageDescriptor();
    sd.setCols(Collections.singletonList(new FieldSchema("id", "bigint", null)));
    sd.setInputFormat("org.apache.hadoop.mapred.TextInputFormat");
    sd.setOutputFormat("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat");
    SerDeInfo serde = new SerDeInfo();
    serde.setSerializationLib("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe");
    serde.setParameters(Collections.emptyMap());
    sd.setSerdeInfo(serde);
    Table table = new Table();
    table.setDbName(database);
    table.setTableName(name);
    table.setTableType("EXTERNAL_TABLE");
    table.setParameters(new java.util.HashMap<>(Collections.singletonMap("EXTERNAL", "TRUE")));
    table.setPartitionKeys(Collections.singletonList(new FieldSchema("day", "string", null)));
    table.setSd(sd);
    client.createTable(table);

    Partition partition = new Partition();
    partition.setDbName(database);
    partition.setTableName(name);
    partition.setValues(Arrays.asList("2026-12-01"));
    partition.setSd(new StorageDescriptor(sd));
    client.add_partition(partition);

    for (Partition found : client.listPartitionsByFilter(database, name, "day = \"2026-12-01\"", (short) -1)) {
      System.out.println("partition: " + String.join("/", found.getValues()));
    }
  }
}
