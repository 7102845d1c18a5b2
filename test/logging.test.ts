import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../constructs/kafka';
import { TrinoCluster } from '../constructs/trino';
import { ZookeeperCluster } from '../constructs/zookeeper';
import {
  airliftLevels,
  airliftLogSettings,
  containerLogging,
  log4j2Config,
  logbackConfig,
  logConfigLocation,
  LOG_DIR,
  LOG_FIELDS,
  renderConfigFile,
  type LoggingSpec,
} from '../lib';
import { fetchMavenArtifact, keelsonCacheDir, parseMavenCoordinates } from '../lib/image';
import { BeaconCluster, type BeaconClusterProps } from './example-product/beacon';

const spec = (container: object): LoggingSpec => ({ containers: { app: container } }) as LoggingSpec;

describe('the shared logging model', () => {
  test('defaults both outputs and the root logger to INFO', () => {
    expect(containerLogging(undefined, 'app')).toEqual({
      container: 'app',
      console: 'INFO',
      file: 'INFO',
      root: 'INFO',
      loggers: [],
      customConfigMap: undefined,
    });
  });

  test('sets the root logger to the more verbose output unless ROOT is given, and sorts loggers', () => {
    const l = containerLogging(
      spec({
        console: { level: 'WARN' },
        file: { level: 'DEBUG' },
        loggers: { b: { level: 'ERROR' }, a: { level: 'TRACE' } },
      }),
      'app',
    );
    expect(l.root).toBe('DEBUG');
    expect(l.loggers).toEqual([
      ['a', 'TRACE'],
      ['b', 'ERROR'],
    ]);
    expect(
      containerLogging(spec({ console: { level: 'WARN' }, loggers: { ROOT: { level: 'ERROR' } } }), 'app')
        .root,
    ).toBe('ERROR');
    // Another container's settings do not apply.
    expect(containerLogging(spec({ console: { level: 'WARN' } }), 'other').console).toBe('INFO');
  });

  test("points the framework at the user's ConfigMap when custom is set", () => {
    expect(logConfigLocation(containerLogging(undefined, 'app'), '/conf', 'logback.xml')).toEqual({
      path: '/conf/logback.xml',
      volumes: [],
      volumeMounts: [],
    });
    const custom = logConfigLocation(
      containerLogging(spec({ custom: { configMap: 'mine' } }), 'app'),
      '/conf',
      'logback.xml',
    );
    expect(custom).toEqual({
      path: '/keelson/log-config/logback.xml',
      volumes: [{ name: 'log-config', configMap: { name: 'mine' } }],
      volumeMounts: [{ name: 'log-config', mountPath: '/keelson/log-config', readOnly: true }],
    });
  });

  test('rejects custom log configuration beside levels, naming the field', () => {
    const chart = new Chart(new App(), 'platform', { namespace: 'data' });
    const props = {
      servers: {
        config: {
          logging: { containers: { beacon: { custom: { configMap: 'mine' }, console: { level: 'WARN' } } } },
        },
      },
    } as unknown as BeaconClusterProps;
    expect([...new BeaconCluster(chart, 'demo', props).problems]).toEqual([
      "spec.servers.config.logging.containers[beacon].custom: custom log configuration replaces keelson's, so console, file and loggers would be ignored; set the levels in the ConfigMap or remove custom",
    ]);
  });
});

describe('renderers', () => {
  const logging = containerLogging(
    spec({
      console: { level: 'WARN' },
      file: { level: 'DEBUG' },
      loggers: { 'org.x': { level: 'FATAL' }, quiet: { level: 'NONE' } },
    }),
    'app',
  );

  test('logback: console and file with their own thresholds, loggers in logback words', () => {
    const xml = logbackConfig(logging);
    expect(xml).toMatch(/<appender name="CONSOLE"[\s\S]*<level>WARN<\/level>[\s\S]*<\/appender>/);
    expect(xml).toMatch(
      /<appender name="FILE"[\s\S]*<file>\/keelson\/log\/app\.json<\/file>[\s\S]*<level>DEBUG<\/level>/,
    );
    expect(xml).toContain('<maxFileSize>10MB</maxFileSize>');
    expect(xml).toContain('<logger name="org.x" level="ERROR"/>\n  <logger name="quiet" level="OFF"/>');
    expect(xml).toContain(
      '<root level="DEBUG">\n    <appender-ref ref="CONSOLE"/>\n    <appender-ref ref="FILE"/>',
    );
  });

  test('logback: an output at NONE has no appender', () => {
    const xml = logbackConfig(containerLogging(spec({ console: { level: 'NONE' } }), 'app'));
    expect(xml).not.toContain('CONSOLE');
    expect(xml).toContain('<appender-ref ref="FILE"/>');
  });

  test('log4j2: console and rolling file with thresholds, loggers by index', () => {
    const props = log4j2Config(logging, '%m%n');
    expect(props).toMatchObject({
      'appender.console.layout.pattern': '%m%n',
      'appender.console.filter.threshold.level': 'WARN',
      'appender.file.fileName': '/keelson/log/app.json',
      'appender.file.filter.threshold.level': 'DEBUG',
      'appender.file.policies.size.size': '10MB',
      'rootLogger.level': 'DEBUG',
      'rootLogger.appenderRef.console.ref': 'console',
      'rootLogger.appenderRef.file.ref': 'file',
      loggers: 'l0,l1',
      'logger.l0.name': 'org.x',
      'logger.l0.level': 'FATAL',
      'logger.l1.level': 'OFF',
    });
    const noFile = log4j2Config(containerLogging(spec({ file: { level: 'NONE' } }), 'app'), '%m%n');
    expect(noFile).not.toHaveProperty('rootLogger.appenderRef.file.ref');
  });

  test('airlift: levels in airlift words with ROOT on the given logger, the JSON file settings', () => {
    expect(airliftLevels(logging, 'io.trino')).toEqual({
      'io.trino': 'DEBUG',
      'org.x': 'ERROR',
      quiet: 'OFF',
    });
    expect(airliftLogSettings(logging)).toEqual({
      'log.path': '/keelson/log/app.json',
      'log.format': 'json',
      'log.max-size': '10MB',
      'log.max-total-size': '20MB',
      'log.enable-console': 'true',
    });
    expect(
      airliftLogSettings(
        containerLogging(spec({ console: { level: 'NONE' }, file: { level: 'NONE' } }), 'app'),
      ),
    ).toEqual({
      'log.enable-console': 'false',
    });
  });
});

/**
 * The rendered configurations run by the real frameworks (the jars keelson's images carry, from
 * Maven Central): every line of the file is a JSON object with exactly the shared field names,
 * messages with quotes, backslashes, line breaks and control characters survive, and an
 * exception's stack trace is one field of its record.
 */
describe('the frameworks write the shared JSON format', () => {
  const program = `
public class Emit {
  public static void main(String[] args) {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("org.example.Emit");
    log.info("plain");
    log.warn("quote \\" backslash \\\\ newline\\nnext\\ttab \\u0001 end");
    log.error("failed", new IllegalStateException("boom \\"x\\""));
    log.debug("below the file's level");
    org.slf4j.LoggerFactory.getLogger("quiet").error("a logger at NONE");
  }
}`;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-logging-'));
    fs.writeFileSync(path.join(dir, 'Emit.java'), program);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const jars = (coordinates: string[]) =>
    Promise.all(coordinates.map((c) => fetchMavenArtifact(parseMavenCoordinates(c), keelsonCacheDir())));

  async function run(
    name: string,
    coordinates: string[],
    property: string,
    config: string,
  ): Promise<object[]> {
    const logDir = path.join(dir, name);
    fs.mkdirSync(logDir);
    const configFile = path.join(dir, `${name}.${property.startsWith('logback') ? 'xml' : 'properties'}`);
    fs.writeFileSync(configFile, config.split(LOG_DIR).join(logDir));
    const out = execFileSync(
      'java',
      [
        `-D${property}=${configFile}`,
        '-cp',
        (await jars(coordinates)).join(':'),
        path.join(dir, 'Emit.java'),
      ],
      {
        stdio: 'pipe',
      },
    );
    if (!fs.existsSync(path.join(logDir, 'app.json')))
      throw new Error(
        `no log file; java wrote: ${String(out)}; config: ${fs.readFileSync(configFile, 'utf8')}`,
      );
    const lines = fs.readFileSync(path.join(logDir, 'app.json'), 'utf8').split('\n').filter(Boolean);
    return lines.map((line) => JSON.parse(line) as object);
  }

  function expectRecords(records: object[]): void {
    const fields = Object.values(LOG_FIELDS);
    expect(records).toHaveLength(3);
    for (const r of records) {
      for (const key of Object.keys(r)) expect(fields).toContain(key);
      expect(r).toMatchObject({ [LOG_FIELDS.thread]: 'main', [LOG_FIELDS.logger]: 'org.example.Emit' });
      expect((r as Record<string, string>)[LOG_FIELDS.time]).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      );
    }
    expect(records.map((r) => (r as Record<string, string>)[LOG_FIELDS.level])).toEqual([
      'INFO',
      'WARN',
      'ERROR',
    ]);
    expect(records[0]).toHaveProperty(LOG_FIELDS.message, 'plain');
    expect(records[0]).not.toHaveProperty(LOG_FIELDS.exception);
    // A control character is kept (Log4j 2 escapes it) or becomes a space (logback).
    expect([
      'quote " backslash \\ newline\nnext\ttab \u0001 end',
      'quote " backslash \\ newline\nnext\ttab   end',
    ]).toContain((records[1] as Record<string, string>)[LOG_FIELDS.message]);
    expect(records[2]).toHaveProperty(LOG_FIELDS.message, 'failed');
    expect((records[2] as Record<string, string>)[LOG_FIELDS.exception]).toMatch(
      /java\.lang\.IllegalStateException: boom "x"\n\s*at Emit\.main/,
    );
  }

  const fileInfo = containerLogging(spec({ loggers: { quiet: { level: 'NONE' } } }), 'app');

  test.each([
    ['1.2.13', 'org.slf4j:slf4j-api:1.7.36'],
    ['1.3.15', 'org.slf4j:slf4j-api:2.0.13'],
  ])(
    'logback %s',
    async (version, slf4j) => {
      const records = await run(
        `logback-${version}`,
        [slf4j, `ch.qos.logback:logback-classic:${version}`, `ch.qos.logback:logback-core:${version}`],
        'logback.configurationFile',
        logbackConfig(fileInfo),
      );
      expectRecords(records);
    },
    60_000,
  );

  test('Log4j 2', async () => {
    const records = await run(
      'log4j2',
      [
        'org.slf4j:slf4j-api:1.7.36',
        'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3',
        'org.apache.logging.log4j:log4j-api:2.24.3',
        'org.apache.logging.log4j:log4j-core:2.24.3',
      ],
      'log4j2.configurationFile',
      renderConfigFile('properties', log4j2Config(fileInfo, '%m%n')),
    );
    expectRecords(records);
  }, 60_000);
});

describe('a level change rolls the pods only where the framework cannot reload its file', () => {
  const hashOf = (objects: any[], workload: string): string =>
    objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === workload).spec.template.metadata
      .annotations['keelson.dev/config-hash'];
  const debug = { containers: { x: { loggers: { 'org.example': { level: 'DEBUG' as const } } } } };
  function twice(
    build: (chart: Chart, logging: object | undefined) => void,
    workload: string,
  ): { before: string; after: string; configChanged: boolean } {
    const synthOnce = (logging: object | undefined) => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
      build(chart, logging);
      return Testing.synth(chart) as any[];
    };
    const a = synthOnce(undefined);
    const b = synthOnce(debug);
    const data = (objects: any[]) =>
      JSON.stringify(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === workload).data);
    return { before: hashOf(a, workload), after: hashOf(b, workload), configChanged: data(a) !== data(b) };
  }
  const withContainer = (logging: object | undefined, container: string) =>
    logging ? JSON.parse(JSON.stringify(logging).replace('"x"', JSON.stringify(container))) : undefined;

  test('ZooKeeper (logback scan): no roll', () => {
    const r = twice(
      (chart, l) =>
        new ZookeeperCluster(chart, 'zk', {
          servers: { config: { logging: withContainer(l, 'zookeeper') } },
        }),
      'zk-servers-default',
    );
    expect(r.configChanged).toBe(true);
    expect(r.after).toBe(r.before);
  });

  test('Kafka 3 and 4 (Log4j 2 monitorInterval, 3.x through the Log4j 1 bridge): no roll', () => {
    for (const [version, rolls] of [
      ['4.1.0', false],
      ['3.9.1', false],
    ] as const) {
      const r = twice(
        (chart, l) =>
          new KafkaCluster(chart, 'kafka', {
            image: { productVersion: version },
            brokers: { config: { logging: withContainer(l, 'kafka') } },
          }),
        'kafka-brokers-default',
      );
      expect({ version, changed: r.configChanged, rolls: r.after !== r.before }).toEqual({
        version,
        changed: true,
        rolls,
      });
    }
  });

  test('Trino (airlift reads its levels once): rolls', () => {
    const r = twice(
      (chart, l) =>
        new TrinoCluster(chart, 'trino', {
          coordinators: { config: { logging: withContainer(l, 'trino') } },
        }),
      'trino-coordinators-default',
    );
    expect(r.after).not.toBe(r.before);
  });
});

/**
 * Log4j 2 (Kafka 4, Hive) takes a level change from its file while running, when the file is
 * replaced the way the kubelet updates a mounted ConfigMap: the name is a symlink through `..data`,
 * which is swapped to a new folder. The real Log4j 2 jars; the program logs DEBUG twice a second.
 */
describe('a running Log4j 2 takes a level change from a swapped ConfigMap file', () => {
  const program = `
public class Loop {
  public static void main(String[] args) throws Exception {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("org.example.Loop");
    java.io.File stop = new java.io.File(args[0]);
    for (int i = 0; i < 120 && !stop.exists(); i++) {
      log.debug("tick " + i);
      Thread.sleep(500);
    }
  }
}`;
  test('DEBUG records appear after the swap, none before', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-log4j2-reload-'));
    try {
      fs.writeFileSync(path.join(dir, 'Loop.java'), program);
      const logDir = path.join(dir, 'log');
      const config = (loggers: LoggingSpec) =>
        renderConfigFile('properties', log4j2Config(containerLogging(loggers, 'app'), '%m%n'))
          .split(LOG_DIR)
          .join(logDir);
      const mount = path.join(dir, 'mount');
      const write = (version: string, text: string) => {
        fs.mkdirSync(path.join(mount, version), { recursive: true });
        fs.writeFileSync(path.join(mount, version, 'log4j2.properties'), text);
      };
      write('v1', config(spec({ file: { level: 'DEBUG' }, loggers: { ROOT: { level: 'INFO' } } })));
      fs.symlinkSync('v1', path.join(mount, '..data'));
      fs.symlinkSync('..data/log4j2.properties', path.join(mount, 'log4j2.properties'));
      const jarList = await Promise.all(
        [
          'org.slf4j:slf4j-api:1.7.36',
          'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3',
          'org.apache.logging.log4j:log4j-api:2.24.3',
          'org.apache.logging.log4j:log4j-core:2.24.3',
        ].map((c) => fetchMavenArtifact(parseMavenCoordinates(c), keelsonCacheDir())),
      );
      const stop = path.join(dir, 'stop');
      const java = spawn(
        'java',
        [
          `-Dlog4j2.configurationFile=${path.join(mount, 'log4j2.properties')}`,
          '-cp',
          jarList.join(':'),
          path.join(dir, 'Loop.java'),
          stop,
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => java.on('exit', resolve));
      const debugLines = () => {
        const file = path.join(logDir, 'app.json');
        if (!fs.existsSync(file)) return -1;
        return fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"level":"DEBUG"')).length;
      };
      try {
        // Running, with its file written (one INFO-level-or-above record would do; none is DEBUG).
        for (let i = 0; i < 120 && debugLines() < 0; i++) await new Promise((r) => setTimeout(r, 500));
        await new Promise((r) => setTimeout(r, 1500));
        expect(debugLines()).toBe(0);
        // The kubelet's update: the new files in a new folder (written now, so newer), then a new
        // ..data link renamed over the old one.
        write(
          'v2',
          config(
            spec({
              file: { level: 'DEBUG' },
              loggers: { ROOT: { level: 'INFO' }, 'org.example': { level: 'DEBUG' } },
            }),
          ),
        );
        fs.symlinkSync('v2', path.join(mount, '..data_tmp'));
        fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
        for (let i = 0; i < 90 && debugLines() <= 0; i++) await new Promise((r) => setTimeout(r, 500));
        expect(debugLines()).toBeGreaterThan(0);
      } finally {
        fs.writeFileSync(stop, '');
        await exited;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
