import { HIVE, METASTORE_HOME } from '../constructs/hive';
import {
  HIVE_IMAGES,
  HIVE_JDBC_DRIVERS,
  hiveImageJars,
  hiveImageRecipe,
  isReplacedTarballJar,
} from '../constructs/hive/image';

describe('Hive metastore image recipes', () => {
  test.each(Object.entries(HIVE.images!.versions))(
    'version %s of the versions table has an image recipe named as keelson references it',
    (version, tag) => {
      expect(HIVE_IMAGES.versions).toContain(version);
      expect(HIVE_IMAGES.recipe(version).reference).toBe(`ghcr.io/keelson/hive-metastore:${tag}`);
    },
  );

  test('is the default image of a HiveCluster', () => {
    expect(HIVE.images!.repository).toBe('ghcr.io/keelson/hive-metastore');
  });

  test('carries the PostgreSQL and MySQL drivers, S3A and the AWS SDK, and replaces the tarball’s old drivers', () => {
    const jars = hiveImageJars('4.0.1');
    expect(jars).toEqual(expect.arrayContaining([...HIVE_JDBC_DRIVERS]));
    expect(jars).toEqual(
      expect.arrayContaining([
        'org.apache.hadoop:hadoop-aws:3.3.6',
        'com.amazonaws:aws-java-sdk-bundle:1.12.367',
        'org.apache.hadoop:hadoop-client-api:3.3.6',
        'org.apache.hadoop:hadoop-client-runtime:3.3.6',
      ]),
    );
    expect(HIVE_JDBC_DRIVERS.map((d) => d.split(':')[1])).toEqual(['postgresql', 'mysql-connector-j']);
    expect(['postgresql-42.5.1.jar', 'mysql-connector-j-8.0.31.jar'].every(isReplacedTarballJar)).toBe(true);
    expect(isReplacedTarballJar('hive-standalone-metastore-server-4.0.1.jar')).toBe(false);
  });

  test('has a passwd entry for uid 10001, without which Hadoop’s login fails as keelson’s pod user', async () => {
    const accounts = hiveImageRecipe('4.0.1').layers[1];
    const inputs = (await accounts.inputs({
      workDir: '/nonexistent',
      cacheDir: '/nonexistent',
      log: () => undefined,
    })) as {
      accounts: { name: string; uid: number }[];
    };
    expect(inputs.accounts).toContainEqual(expect.objectContaining({ uid: 10001 }));
    expect(inputs.accounts).toContainEqual(expect.objectContaining({ name: 'hive', uid: 1000 }));
  });

  test('sets METASTORE_HOME, where the schema tool finds its scripts', () => {
    const { config } = hiveImageRecipe('4.0.1');
    expect(config.env?.METASTORE_HOME).toBe(METASTORE_HOME);
    expect(config.user).toBe('1000:1000');
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => HIVE_IMAGES.recipe('3.1.3')).toThrow(
      'image: keelson has no Hive image recipe for version "3.1.3"; it has 4.0.1',
    );
  });
});
