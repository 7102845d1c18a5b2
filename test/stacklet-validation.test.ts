import { App, Chart, Testing } from 'cdk8s';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synth } from '../lib';
import { BeaconCluster, type BeaconClusterProps } from './example-product/beacon';

/** The problems the construct reports for `spec`, or [] when it builds. */
function problems(spec: unknown, name = 'demo'): string[] {
  const chart = new Chart(new App(), 'platform', { namespace: 'data' });
  return [...new BeaconCluster(chart, name, spec as BeaconClusterProps).problems];
}

describe('synth-time validation', () => {
  test('accepts an empty spec (every field has a default)', () => {
    expect(problems({})).toEqual([]);
  });

  test('rejects negative replicas, naming the path and the rule', () => {
    expect(problems({ servers: { roleGroups: { default: { replicas: -1 } } } })).toEqual([
      'spec.servers.roleGroups.default.replicas: must be >= 0',
    ]);
  });

  test('rejects unknown keys and lists the known ones', () => {
    const [p] = problems({ servers: { confg: {} } });
    expect(p).toMatch(/^spec\.servers: unknown field "confg"; expected one of: config, configOverrides/);
  });

  test("rejects an unknown config file and lists the role's files", () => {
    expect(problems({ servers: { configOverrides: { 'zoo.cfg': { a: 'b' } } } })).toEqual([
      'spec.servers.configOverrides: unknown field "zoo.cfg"; expected one of this role\'s config files: beacon.properties, log4j.properties',
    ]);
  });

  test('rejects an impossible cpu range, also when role and group each set one end', () => {
    expect(problems({ servers: { config: { resources: { cpu: { min: '2', max: '500m' } } } } })).toEqual([
      'spec.servers.config.resources.cpu.min: cpu.min must not exceed cpu.max',
    ]);
    const merged = problems({
      servers: {
        config: { resources: { cpu: { min: '3' } } },
        roleGroups: { default: { config: { resources: { cpu: { max: '2' } } } } },
      },
    });
    expect(merged).toEqual([
      'spec.servers.roleGroups.default.config (merged with role and defaults).resources.cpu.min: cpu.min must not exceed cpu.max',
    ]);
  });

  test('rejects malformed quantities and durations with what was expected', () => {
    const found = problems({
      servers: { config: { resources: { memory: { limit: 'lots' } }, gracefulShutdownTimeout: 'soon' } },
    });
    expect(found).toContain(
      'spec.servers.config.resources.memory.limit: "lots" is not a Kubernetes quantity such as 500m, 2 or 4Gi',
    );
    expect(found).toContain(
      'spec.servers.config.gracefulShutdownTimeout: "soon" is not a duration such as 30s, 5m or 1h30m',
    );
  });

  test('rejects a zero cpu max or memory limit, fractions of a byte and a bad StorageClass', () => {
    const found = problems({
      servers: {
        config: {
          resources: {
            cpu: { max: '0' },
            memory: { limit: '0' },
            storage: { data: { capacity: '1.5', storageClass: 'Fast_SSD' } },
          },
        },
        roleGroups: { default: { config: { resources: { memory: { limit: '1500m' } } } } },
      },
    });
    expect(found).toEqual([
      'spec.servers.config.resources.storage.data.storageClass: "Fast_SSD" is not a StorageClass name ' +
        "(lower case letters, digits, '-' and '.', starting and ending with a letter or digit)",
      'spec.servers.config.resources.cpu.max: cpu.max must be greater than 0',
      'spec.servers.config.resources.memory.limit: memory.limit must be greater than 0',
      'spec.servers.config.resources.storage[data].capacity: capacity must be a whole number of bytes; use a suffix such as Mi or Gi, not m or a fraction',
      'spec.servers.roleGroups[default].config.resources.memory.limit: memory.limit must be a whole number of bytes; use a suffix such as Mi or Gi, not m or a fraction',
    ]);
  });

  test('rejects an override that is not a map and an unknown kind of override', () => {
    expect(
      problems({ servers: { configOverrides: { 'beacon.properties': 'a=1' }, envOverride: { A: 'b' } } }),
    ).toEqual([
      'spec.servers: unknown field "envOverride"; expected one of: config, configOverrides, envOverrides, cliOverrides, podOverrides, jvmArgumentOverrides, roleConfig, roleGroups',
      'spec.servers.configOverrides.beacon.properties: must be a map, not "a=1"',
    ]);
  });

  test('rejects a role group name that is not a DNS label', () => {
    expect(problems({ servers: { roleGroups: { Big_Group: {} } } })[0]).toMatch(
      /^spec\.servers\.roleGroups: "Big_Group" is not a valid name; expected keys that are DNS labels/,
    );
  });

  test("rejects names that would exceed Kubernetes' limits, naming the object", () => {
    const [p] = problems(
      { servers: { roleGroups: { 'a-very-long-role-group-name-indeed': {} } } },
      'a-long-stacklet-name',
    );
    expect(p).toMatch(
      /workload name "a-long-stacklet-name-servers-a-very-long-role-group-name-indeed" is 63 characters long; the limit is 52/,
    );
  });

  test('rejects an unsupported product version and lists the supported ones', () => {
    expect(problems({ image: { productVersion: '0.1' } })).toEqual([
      'spec.image.productVersion: version "0.1" is not supported; supported versions: 1.0.0, 1.1.0 (or set spec.image.custom to run an image of your own)',
    ]);
  });

  test('rejects a heap that does not fit the memory limit', () => {
    expect(
      problems({ servers: { config: { resources: { memory: { limit: '100Mi' } } } } }).join('\n'),
    ).toMatch(/spec\.servers\.roleGroups\.default\.config\.resources\.memory\.limit/);
  });

  test('rejects a dependency that is neither referenced nor known', () => {
    expect(problems({ clusterConfig: { upstreamConfigMapName: 'elsewhere' } })[0]).toMatch(
      /^spec\.clusterConfig\.upstreamConfigMapName: the discovery ConfigMap "elsewhere" is not known/,
    );
  });

  test('reports every problem at once', () => {
    const found = problems({
      image: { pullPolicy: 'Sometimes' },
      servers: { roleGroups: { default: { replicas: -2 } } },
      gateways: { envOverrides: { A: 1 } },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'spec.image.pullPolicy: "Sometimes" is not one of: Always, IfNotPresent, Never',
        'spec.servers.roleGroups.default.replicas: must be >= 0',
        'spec.gateways.envOverrides.A: must be a string',
      ]),
    );
  });

  test('the error message lists the problems under the stacklet it belongs to', () => {
    const chart = new Chart(new App(), 'platform', { namespace: 'data' });
    new BeaconCluster(chart, 'demo', { servers: { roleGroups: { default: { replicas: -1 } } } });
    expect(() => Testing.synth(chart)).toThrow(
      'Validation failed with the following errors:\n  [platform/demo] BeaconCluster "demo": spec.servers.roleGroups.default.replicas: must be >= 0',
    );
  });
});

describe('synth-time validation of JVM arguments', () => {
  test('rejects a removeRegex that is not a regular expression, once for the role', () => {
    const chart = new Chart(new App(), 'platform', { namespace: 'data' });
    const spec = {
      servers: { jvmArgumentOverrides: { removeRegex: ['-X(('] }, roleGroups: { a: {}, b: {} } },
    };
    new BeaconCluster(chart, 'demo', spec);
    expect(() => Testing.synth(chart)).toThrow(
      /\[platform\/demo\] BeaconCluster "demo": spec\.servers\.jvmArgumentOverrides\.removeRegex\[0\]: "-X\(\(" is not a valid regular expression[^\n]*$/,
    );
  });
});

describe('every stacklet of a program is reported at once', () => {
  /** An app with two invalid stacklets in two charts and a valid one between them. */
  function twoInvalid(): App {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-validation-')) });
    const a = new Chart(app, 'a', { namespace: 'data' });
    new BeaconCluster(a, 'first', { servers: { roleGroups: { default: { replicas: -1 } } } });
    new BeaconCluster(a, 'fine');
    new BeaconCluster(new Chart(app, 'b', { namespace: 'data' }), 'second', {
      image: { pullPolicy: 'Sometimes' as never },
      servers: { config: { logging: { enableVectorAgent: true } } },
    });
    return app;
  }
  const expected = [
    '[a/first] BeaconCluster "first": spec.servers.roleGroups.default.replicas: must be >= 0',
    '[b/second] BeaconCluster "second": spec.image.pullPolicy: "Sometimes" is not one of: Always, IfNotPresent, Never',
    '[b/second] BeaconCluster "second": spec.servers.config.logging.enableVectorAgent: enableVectorAgent is replaced by clusterConfig.logging.aggregatorConfigMapName',
  ];

  test("by cdk8s' app.synth()", () => {
    expect(() => twoInvalid().synth()).toThrow(
      new RegExp(expected.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^]*')),
    );
  });

  test("by keelson's synth(app), which writes nothing", () => {
    const app = twoInvalid();
    let message = '';
    try {
      synth(app);
    } catch (e) {
      message = (e as Error).message;
    }
    for (const line of expected) expect(message).toContain(line);
    expect(fs.readdirSync(app.outdir)).toEqual([]);
  });
});

describe('the Vector-era logging settings, replaced by clusterConfig.logging', () => {
  const agent =
    "enableVectorAgent is replaced by clusterConfig.logging.aggregatorConfigMapName: keelson's log agent runs " +
    'beside every pod of a stacklet that names an aggregator; remove enableVectorAgent';
  test('rejects logging.enableVectorAgent (true or false), in the role and in a role group, naming its replacement', () => {
    expect(
      problems({
        servers: {
          config: { logging: { enableVectorAgent: true } },
          roleGroups: { a: { config: { logging: { enableVectorAgent: false } } } },
        },
      }),
    ).toEqual([
      `spec.servers.config.logging.enableVectorAgent: ${agent}`,
      `spec.servers.roleGroups[a].config.logging.enableVectorAgent: ${agent}`,
    ]);
  });

  test('rejects clusterConfig.vectorAggregatorConfigMapName, naming its replacement', () => {
    expect(problems({ clusterConfig: { vectorAggregatorConfigMapName: 'vector' } })).toEqual([
      'spec.clusterConfig.vectorAggregatorConfigMapName: vectorAggregatorConfigMapName is replaced by ' +
        'clusterConfig.logging.aggregatorConfigMapName (a discovery ConfigMap with the OTLP_HTTP_ENDPOINT of an ' +
        'OpenTelemetry aggregator); move the name there',
    ]);
  });
});

describe('one message per field', () => {
  test('a missing required string is "required", not also "must be a string"', () => {
    expect(problems({ objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: {} }] })).toEqual([
      'spec.objectOverrides[0].metadata.name: is required',
    ]);
  });
});

describe('objectOverrides are checked against the Kubernetes schema of their kind', () => {
  test('rejects a misspelled field, naming its path, the rule and the kind', () => {
    expect(
      problems({
        objectOverrides: [
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'demo-servers-default' },
            spec: { replicsa: 3 },
          },
        ],
      }),
    ).toEqual([
      'spec.objectOverrides[0].spec.replicsa: unknown field; did you mean replicas? (in a StatefulSet of apps/v1)',
    ]);
  });

  test('rejects a value of the wrong type, deep in the object', () => {
    expect(
      problems({
        objectOverrides: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'demo-servers' },
            spec: { ports: { web: 80 } },
          },
          {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: 'demo-servers', labels: { team: 7 } },
          },
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: 'demo' },
            spec: { ingress: [{ form: [] }] },
          },
        ],
      }),
    ).toEqual([
      'spec.objectOverrides[0].spec.ports: must be a list, not an object (in a Service of v1)',
      'spec.objectOverrides[1].metadata.labels.team: must be a string, not 7 (in a PodDisruptionBudget of policy/v1)',
      'spec.objectOverrides[2].spec.ingress[0].form: unknown field; did you mean from? (in a NetworkPolicy of networking.k8s.io/v1)',
    ]);
  });

  test('accepts a correct override, null (remove) and $patch, and leaves kinds the core schema lacks to the target check', () => {
    expect(
      problems({
        objectOverrides: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'demo-servers', annotations: { team: 'data' } },
            spec: { type: 'LoadBalancer', sessionAffinity: null },
          },
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'demo-servers-default' },
            spec: { template: { spec: { containers: [{ name: 'beacon', $patch: 'delete' }] } } },
          },
        ],
      }),
    ).toEqual([]);
    expect(
      problems({
        objectOverrides: [
          { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { x: 1 } },
        ],
      }),
    ).toEqual([
      expect.stringMatching(
        /^spec\.objectOverrides\[0\]: no generated object is example\.com\/v1\/Widget\/w/,
      ),
    ]);
  });
});
