/**
 * Where keelson's Hadoop image keeps HDFS, and the main classes keelson's pods and the image's
 * `hdfs` command start: shared by the image recipe (image.ts) and the construct (hdfs.ts), so
 * neither reaches into the other.
 */

/** Hadoop's home in the image (the release's `HADOOP_HOME` in upstream's images). */
export const HADOOP_HOME = '/opt/hadoop';
/** Every jar HDFS runs on (Hadoop's and its dependencies', flat, as Maven resolves them). */
export const HADOOP_LIB = `${HADOOP_HOME}/lib`;
/**
 * The directory holding `webapps/` (the web UIs' static files, from the release's
 * `share/hadoop/hdfs`): it must be on the classpath, where Hadoop's HTTP server looks them up, or
 * the namenode, datanode and journalnode refuse to start.
 */
export const HADOOP_WEBAPPS_ROOT = `${HADOOP_HOME}/share/hadoop/hdfs`;
/** The classpath of every HDFS JVM, after the config directory. */
export const HADOOP_CLASSPATH = `${HADOOP_WEBAPPS_ROOT}:${HADOOP_LIB}/*`;

/** The main classes behind the `hdfs` subcommands keelson uses (the same in Hadoop 3.3 and 3.4). */
export const HDFS_MAIN_CLASSES = {
  namenode: 'org.apache.hadoop.hdfs.server.namenode.NameNode',
  datanode: 'org.apache.hadoop.hdfs.server.datanode.DataNode',
  journalnode: 'org.apache.hadoop.hdfs.qjournal.server.JournalNode',
  zkfc: 'org.apache.hadoop.hdfs.tools.DFSZKFailoverController',
  dfs: 'org.apache.hadoop.fs.FsShell',
  dfsadmin: 'org.apache.hadoop.hdfs.tools.DFSAdmin',
  haadmin: 'org.apache.hadoop.hdfs.tools.DFSHAAdmin',
  fsck: 'org.apache.hadoop.hdfs.tools.DFSck',
  getconf: 'org.apache.hadoop.hdfs.tools.GetConf',
} as const;

/**
 * JVM options the HDFS daemons need on the image's Java 17: WebHDFS answers through Jersey, whose
 * JAXB defines accessor classes through `java.lang.ClassLoader`'s internals. Without this every
 * WebHDFS call answers 500 (`NoClassDefFoundError` of JAXB's `Injector`).
 */
export const HADOOP_JAVA17_OPTIONS = ['--add-opens=java.base/java.lang=ALL-UNNAMED'] as const;

/** keelson's Hadoop image repository and the versions it has an image of (version → tag). */
export const HDFS_IMAGE_REPOSITORY = 'ghcr.io/keelson/hadoop';
export const HDFS_IMAGE_TAGS: Readonly<Record<string, string>> = { '3.4.2': '3.4.2' };
