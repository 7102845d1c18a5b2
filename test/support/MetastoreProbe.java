import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.HiveMetaStoreClient;
import org.apache.hadoop.hive.metastore.api.Database;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;

/**
 * A Thrift client of a Hive metastore, for keelson's tests: `MetastoreProbe <thrift URI> [database
 * [location]]` creates the database when one is named, then prints `database: <name>` for every
 * database the metastore lists.
 */
public class MetastoreProbe {
  public static void main(String[] args) throws Exception {
    Configuration conf = MetastoreConf.newMetastoreConf();
    MetastoreConf.setVar(conf, MetastoreConf.ConfVars.THRIFT_URIS, args[0]);
    HiveMetaStoreClient client = new HiveMetaStoreClient(conf);
    try {
      if (args.length > 1) {
        Database database = new Database();
        database.setName(args[1]);
        if (args.length > 2) database.setLocationUri(args[2]);
        client.createDatabase(database);
      }
      for (String name : client.getAllDatabases()) System.out.println("database: " + name);
    } finally {
      client.close();
    }
  }
}
