/**
 * Where keelson's HBase image keeps HBase, and the main classes keelson's pods and the image's
 * `hbase` command start: shared by the image recipe (image.ts) and the construct (hbase.ts), so
 * neither reaches into the other.
 */

/** HBase's home in the image (the release tarball's layout: `bin/`, `conf/`, `lib/`). */
export const HBASE_HOME = '/opt/hbase';
/** Every jar HBase runs on (HBase's and its dependencies', flat, as Maven resolves them). */
export const HBASE_LIB = `${HBASE_HOME}/lib`;
/**
 * The image's config directory: `log4j2.properties` (console on stderr, INFO) for the `hbase` script,
 * a `docker run` and the regionservers' preStop hook.
 */
export const HBASE_IMAGE_CONF_DIR = `${HBASE_HOME}/conf`;
/** The classpath of every HBase JVM, after the config directory (the web UIs are in the jars). */
export const HBASE_CLASSPATH = `${HBASE_LIB}/*`;

/** The main classes behind the `hbase` subcommands keelson uses (the same across HBase 2.x). */
export const HBASE_MAIN_CLASSES = {
  master: 'org.apache.hadoop.hbase.master.HMaster',
  regionserver: 'org.apache.hadoop.hbase.regionserver.HRegionServer',
  rest: 'org.apache.hadoop.hbase.rest.RESTServer',
  /** Moves a regionserver's regions to the others (`-r host:port -o unload`) and back (`load`). */
  regionmover: 'org.apache.hadoop.hbase.util.RegionMover',
  hbck: 'org.apache.hadoop.hbase.util.HBaseFsck',
  version: 'org.apache.hadoop.hbase.util.VersionInfo',
} as const;

/**
 * JVM options HBase needs on Java 17 (the ones HBase's own start script adds from Java 11 on): its
 * shaded netty and its asynchronous HDFS output reach into JDK internals.
 */
export const HBASE_JAVA17_OPTIONS = [
  '-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-exports=java.base/sun.net.dns=ALL-UNNAMED',
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
] as const;

/** keelson's HBase image repository and the versions it has an image of (version → tag). */
export const HBASE_IMAGE_REPOSITORY = 'ghcr.io/keelson/hbase';
export const HBASE_IMAGE_TAGS: Readonly<Record<string, string>> = { '2.6.1': '2.6.1' };
