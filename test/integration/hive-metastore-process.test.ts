/**
 * The Hive metastore from keelson's manifests, run as processes with the real jars of keelson's
 * image (the same Maven Central artifacts image.ts puts in /opt/hive) against a real PostgreSQL
 * (Debian's postgresql-15, started here on loopback as an unprivileged user). The scripts are
 * the ones the StatefulSet's containers run, with only their paths pointed at this machine:
 * - the schema tool reads keelson's metastore-site.xml (PostgreSQL, not an embedded Derby) and the
 *   initialising pod creates the schema; a pod that is not the initialiser waits for it and never
 *   creates it; a second start of the initialiser changes nothing;
 * - an unset `${env.X}` stops the container with its name;
 * - the metastore logs to stdout through keelson's log4j2 file and a Thrift client creates and
 *   lists a database.
 * Each step prints the product's own output when it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../../constructs/hive';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import { fetchMavenArtifact, keelsonCacheDir, parseMavenCoordinates } from '../../lib/image';
import { LOG_DIR } from '../../lib/logging';
import { JMX_EXPORTER_AGENT, JMX_EXPORTER_COORDINATES } from '../../lib/stacklet/metrics';

const VERSION = '4.0.1';
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const NOBODY = 65534;
const DB = { username: 'hive', password: 'pw-3c1e9a' };

jest.setTimeout(15 * 60_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function must(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): string {
  const result = run(command, args, options);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.output}`);
  return result.output;
}

/** As the unprivileged user when the test runs as root (PostgreSQL refuses root). */
function unprivileged(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', command, ...args]]
    : [command, args];
}

interface Container {
  command: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string }; fieldRef?: object } }[];
}

describe('the Hive metastore from keelson’s manifests, with the real jars, on PostgreSQL', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hive-'));
  const pgDir = path.join(work, 'pg');
  const configDir = path.join(work, 'config');
  const logDir = path.join(work, 'log');
  const warehouse = path.join(work, 'warehouse');
  let home: string;
  let agent: string;
  let pgPort: number;
  let thriftPort: number;
  let main: Container;
  let init: Container;
  let metastore: ChildProcess | undefined;
  let metastoreLog = '';

  const psql = (sql: string) =>
    must('psql', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-U',
      'postgres',
      '-d',
      'metastore',
      '-tAc',
      sql,
    ]).trim();

  beforeAll(async () => {
    if (!fs.existsSync(path.join(POSTGRES_BIN, 'postgres')))
      throw new Error(`PostgreSQL 15 is not installed at ${POSTGRES_BIN}: apt-get install postgresql-15`);
    home = await hiveTestHome(VERSION);
    // The image's metrics agent and log folder, at paths of this machine.
    agent = await fetchMavenArtifact(parseMavenCoordinates(JMX_EXPORTER_COORDINATES), keelsonCacheDir());
    fs.mkdirSync(logDir, { recursive: true });
    pgPort = await freePort();
    thriftPort = await freePort();

    fs.mkdirSync(pgDir);
    fs.chownSync(pgDir, NOBODY, NOBODY);
    fs.chmodSync(work, 0o755);
    must(
      ...unprivileged(path.join(POSTGRES_BIN, 'initdb'), [
        '-D',
        `${pgDir}/data`,
        '-U',
        'postgres',
        '--auth=trust',
      ]),
    );
    must(
      ...unprivileged(path.join(POSTGRES_BIN, 'pg_ctl'), [
        '-D',
        `${pgDir}/data`,
        '-o',
        `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1`,
        '-l',
        `${pgDir}/log`,
        '-w',
        'start',
      ]),
    );
    must('psql', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-U',
      'postgres',
      '-c',
      `CREATE USER hive PASSWORD '${DB.password}'`,
    ]);
    must('psql', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pgPort),
      '-U',
      'postgres',
      '-c',
      'CREATE DATABASE metastore OWNER hive',
    ]);

    // keelson's manifests for this database, with the Thrift port and warehouse of this machine.
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new HiveCluster(chart, 'hive', {
      clusterConfig: {
        database: {
          type: 'postgresql',
          host: '127.0.0.1',
          port: pgPort,
          database: 'metastore',
          credentialsSecretName: 'hive-db',
        },
        warehouseDir: warehouse,
      },
      metastores: {
        roleGroups: { default: { replicas: 2 } },
        configOverrides: { 'metastore-site.xml': { 'metastore.thrift.port': String(thriftPort) } },
      },
    });
    const objects = Testing.synth(chart) as any[];
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'hive-metastores-default',
    );
    const pod = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec;
    fs.mkdirSync(configDir);
    for (const [name, text] of Object.entries(configMap.data as Record<string, string>)) {
      fs.writeFileSync(path.join(configDir, name), rewrite(text));
    }
    main = pod.containers[0];
    init = pod.initContainers[0];
  });

  afterAll(() => {
    metastore?.kill('SIGKILL');
    run(
      ...unprivileged(path.join(POSTGRES_BIN, 'pg_ctl'), ['-D', `${pgDir}/data`, '-m', 'immediate', 'stop']),
    );
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Text of keelson's manifests with the image's paths replaced by this machine's. */
  function rewrite(text: string): string {
    return text
      .split('/keelson/config')
      .join(configDir)
      .split(LOG_DIR)
      .join(logDir)
      .split(JMX_EXPORTER_AGENT)
      .join(agent)
      .split('/opt/hive')
      .join(home);
  }

  /** A container's bash script and environment, pointed at this machine's paths. */
  function local(container: Container, podName: string, drop: string[] = []) {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const e of container.env) {
      if (drop.includes(e.name)) continue;
      if (e.value !== undefined) env[e.name] = rewrite(e.value);
      else if (e.valueFrom?.secretKeyRef) env[e.name] = DB[e.valueFrom.secretKeyRef.key as keyof typeof DB];
      else if (e.valueFrom?.fieldRef) env[e.name] = podName;
    }
    return { args: ['-c', rewrite(container.command[2]), ...container.command.slice(3)], env };
  }

  function runInit(podName: string) {
    const { args, env } = local(init, podName);
    return run('/bin/bash', args, { env, cwd: work });
  }

  it('creates the schema in PostgreSQL from the initialising pod only, once', async () => {
    // A pod that is not the initialiser waits for the schema and does not create it.
    const { args, env } = local(init, 'hive-metastores-default-1');
    const waiter = spawn('/bin/bash', args, { env, cwd: work });
    let waiterLog = '';
    waiter.stdout.on('data', (d) => (waiterLog += d));
    waiter.stderr.on('data', (d) => (waiterLog += d));
    const waiterDone = new Promise<number | null>((resolve) => waiter.on('exit', resolve));

    const first = runInit('hive-metastores-default-0');
    if (first.status !== 0) throw new Error(`schema-init of pod 0 failed:\n${first.output}`);
    expect(first.output).toContain('Metastore connection URL:\t jdbc:postgresql://127.0.0.1');
    expect(first.output).toContain('Initialization script completed');
    expect(psql('SELECT "SCHEMA_VERSION" FROM "VERSION"')).toBe('4.0.0');

    const waiterStatus = await waiterDone;
    if (waiterStatus !== 0) throw new Error(`schema-init of pod 1 failed:\n${waiterLog}`);
    expect(waiterLog).toContain('waiting for hive-metastores-default-0');
    expect(waiterLog).toContain('the metastore schema is there');
    expect(waiterLog).not.toMatch(/initOrUpgradeSchema|Initialization script/);

    // A restart of the initialiser finds the schema and leaves it alone.
    const tables = psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
    const again = runInit('hive-metastores-default-0');
    if (again.status !== 0) throw new Error(`second schema-init failed:\n${again.output}`);
    expect(again.output).toContain('No schema upgrade required from version 4.0.0');
    expect(again.output).not.toContain('Initialization script');
    expect(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).toBe(tables);
    expect(psql('SELECT count(*) FROM "VERSION"')).toBe('1');
  });

  it('stops at start, naming the variable, when a ${env.X} the files refer to is unset', () => {
    const { args, env } = local(main, 'hive-metastores-default-0', ['DB_PASSWORD']);
    const result = run('/bin/bash', args, { env, cwd: work });
    expect(result.status).toBe(1);
    expect(result.output).toContain('the environment variable DB_PASSWORD is not set');
  });

  it('serves Thrift: a client creates a database and lists it; the log goes to stdout', async () => {
    const { args, env } = local(main, 'hive-metastores-default-0');
    metastore = spawn('/bin/bash', args, { env, cwd: work });
    let stdout = '';
    metastore.stdout!.on('data', (d) => (stdout += d));
    metastore.stderr!.on('data', (d) => (metastoreLog += d));
    let ended = false;
    const exited = new Promise<number | null>((resolve) =>
      metastore!.on('exit', (code) => {
        ended = true;
        resolve(code);
      }),
    );
    // Polls until the metastore listens; stops once it exited, so that no timer outlives the test.
    const listening = new Promise<void>((resolve) => {
      const check = () => {
        if (stdout.includes(`Started the new metaserver on port [${thriftPort}]`)) resolve();
        else if (!ended) setTimeout(check, 500);
      };
      check();
    });
    const status = await Promise.race([
      listening.then(() => 'started'),
      exited.then((code) => `exited ${code}`),
    ]);
    if (status !== 'started') throw new Error(`the metastore ${status}:\n${stdout}\n${metastoreLog}`);
    // log4j2 writes to stdout with keelson's pattern; nothing is logged to stderr.
    expect(stdout).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:,]+ +INFO \[main\] metastore\.HMSHandler: Started the new metaserver/m,
    );
    expect(stdout).toContain(`Found configuration file: file:${configDir}/metastore-site.xml`);

    const classes = path.join(work, 'probe');
    const classPath = `${path.join(home, 'lib')}/*`;
    compileMetastoreProbe(home, classes);
    const probe = run('java', [
      '-cp',
      `${classes}:${classPath}`,
      'MetastoreProbe',
      `thrift://127.0.0.1:${thriftPort}`,
      'sales',
    ]);
    if (probe.status !== 0)
      throw new Error(`the Thrift client failed:\n${probe.output}\n--- metastore:\n${stdout}${metastoreLog}`);
    expect(probe.output).toContain('database: default');
    expect(probe.output).toContain('database: sales');
    expect(fs.existsSync(path.join(warehouse, 'sales.db'))).toBe(true);
    expect(psql('SELECT "NAME" FROM "DBS" ORDER BY "NAME"')).toBe('default\nsales');
    expect(stdout).not.toMatch(/ERROR|class not found/);
    expect(metastoreLog).toBe('');
  });
});
