import { ZOOKEEPER, zookeeperDistDir } from '../constructs/zookeeper';
import { ZOOKEEPER_IMAGES, zookeeperImageRecipe } from '../constructs/zookeeper/image';

describe('ZooKeeper image recipes', () => {
  test.each(Object.entries(ZOOKEEPER.images!.versions))(
    'version %s of the versions table has an image recipe named as keelson references it',
    (version, tag) => {
      expect(ZOOKEEPER_IMAGES.versions).toContain(version);
      const recipe = ZOOKEEPER_IMAGES.recipe(version);
      expect(recipe.reference).toBe(`${ZOOKEEPER.images!.repository}:${tag}`);
    },
  );

  test('reproduces the upstream layout: dist folder on the PATH as workdir, /conf as ZOOCFGDIR, user 1000', () => {
    const { config } = zookeeperImageRecipe('3.9.4');
    expect(zookeeperDistDir('3.9.4')).toBe('/apache-zookeeper-3.9.4-bin');
    expect(config.workingDir).toBe('/apache-zookeeper-3.9.4-bin');
    expect(config.env?.PATH).toMatch(/:\/apache-zookeeper-3\.9\.4-bin\/bin$/);
    expect(config.env?.ZOOCFGDIR).toBe('/conf');
    expect(config.user).toBe('1000:1000');
    expect(config.cmd).toEqual(['zkServer.sh', 'start-foreground']);
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => ZOOKEEPER_IMAGES.recipe('3.4.6')).toThrow(
      'image: keelson has no ZooKeeper image recipe for version "3.4.6"; it has 3.9.3, 3.9.4',
    );
  });
});
