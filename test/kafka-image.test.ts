import { KAFKA, KAFKA_LIBS } from '../constructs/kafka';
import { JMX_EXPORTER_AGENT } from '../lib';
import { KAFKA_IMAGES, kafkaImageRecipe } from '../constructs/kafka/image';

describe('Kafka image recipes', () => {
  test.each(Object.entries(KAFKA.images!.versions))(
    'version %s of the versions table has an image recipe named as keelson references it',
    (version, tag) => {
      expect(KAFKA_IMAGES.versions).toContain(version);
      expect(KAFKA_IMAGES.recipe(version).reference).toBe(`${KAFKA.images!.repository}:${tag}`);
    },
  );

  test('reproduces the upstream layout the construct relies on: libs in /opt/kafka/libs, user appuser 1000, the data volume', () => {
    const { config, layers } = kafkaImageRecipe('4.1.0');
    expect(KAFKA_LIBS).toBe('/opt/kafka/libs');
    expect(JMX_EXPORTER_AGENT).toBe('/opt/jmx-exporter/jmx_prometheus_javaagent.jar');
    expect(config.user).toBe('1000:1000');
    expect(config.volumes).toEqual(['/etc/kafka/secrets', '/var/lib/kafka/data', '/mnt/shared/config']);
    expect(config.cmd).toEqual(['/etc/kafka/docker/run']);
    expect(layers.map((l) => l.description)).toEqual([
      expect.stringMatching(/OpenJDK 17/),
      'accounts appuser(1000)',
      'Kafka 4.1.0 from Maven Central',
      expect.stringMatching(
        /^the Prometheus JMX exporter java agent \(io\.prometheus\.jmx:jmx_prometheus_javaagent:/,
      ),
    ]);
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => KAFKA_IMAGES.recipe('2.8.0')).toThrow(
      /keelson has no Kafka image recipe for version "2\.8\.0"; it has 3\.8\.1, 3\.9\.1, 4\.0\.0, 4\.1\.0/,
    );
  });
});
