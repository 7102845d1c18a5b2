/**
 * Kafka's own command-line clients, run in a client pod of keelson's Kafka image (Kafka's jars in
 * `/opt/kafka/libs`) by the real-node tests: topics, a console producer and a console consumer,
 * each retried until it succeeds. The same scripts run on the test machine itself with
 * `hostClientPlace` and `runOnHost`: a client outside every pod's network namespace.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kafkaDistributionJars } from '../../constructs/kafka/image';
import { keelsonCacheDir } from '../../lib/image/build';
import { CLIENT_JVM_OPTIONS } from './real-node-support';

/**
 * Where a client script finds Kafka's jars and writes its scratch files: a client pod of keelson's
 * Kafka image, or a process on the test machine itself (outside every pod's network namespace).
 */
export interface ClientPlace {
  /** The directory of Kafka's jars. */
  readonly libs: string;
  /** A directory the script may write (its logging config, what it consumed). */
  readonly tmp: string;
}

/** A client pod of keelson's Kafka image. */
export const IN_IMAGE: ClientPlace = { libs: '/opt/kafka/libs', tmp: '/tmp' };

/**
 * A client's bash prelude: warnings only from the tools' logging (to stderr), and `retry CMD…`, which
 * runs CMD until it succeeds or five minutes have passed, so that a client started while the
 * bootstrap Service's endpoints or DNS records are still being published waits for them instead of
 * failing.
 */
export function prelude(place: ClientPlace = IN_IMAGE): string {
  return [
    'set -eu',
    "printf '%s\\n' 'appender.err.type=Console' 'appender.err.name=err' 'appender.err.target=SYSTEM_ERR' " +
      `'appender.err.layout.type=PatternLayout' 'rootLogger.level=WARN' 'rootLogger.appenderRef.err.ref=err' > ${place.tmp}/log4j2.properties`,
    'deadline=$(( $(date +%s) + 300 ))',
    'retry() { until "$@"; do if [ "$(date +%s)" -ge "$deadline" ]; then echo "gave up: $*"; return 1; fi; sleep 3; done; }',
  ].join('\n');
}

/** The prelude of a client pod of keelson's image. */
export const PRELUDE = prelude();

/**
 * `java` running one of Kafka's classes as a short-lived client (CLIENT_JVM_OPTIONS) with the prelude's logging. Every version
 * of keelson's images logs through Log4j 2, so the version (the callers say which tools they run)
 * changes nothing.
 */
export function kafkaJava(
  _version: string,
  mainClass: string,
  args: string,
  place: ClientPlace = IN_IMAGE,
): string {
  return `java ${CLIENT_JVM_OPTIONS} -Dlog4j2.configurationFile=${place.tmp}/log4j2.properties -cp '${place.libs}/*' ${mainClass} ${args}`;
}

/** The console producer's class: Scala's in Kafka 3, the tools module's in Kafka 4. */
export function producerClass(version: string): string {
  return version.startsWith('3.') ? 'kafka.tools.ConsoleProducer' : 'org.apache.kafka.tools.ConsoleProducer';
}

/**
 * A client script that creates `topic` (replication factor `rf`) if it is missing, produces
 * `messages` through `bootstrap`, and consumes the topic from the beginning until `expect` messages
 * were read, each step retried until it succeeds. `config` is a client properties file every tool
 * reads (TLS settings, for instance).
 */
export function produceConsume(
  version: string,
  bootstrap: string,
  topic: string,
  options: { rf?: number; messages?: string[]; expect: number; config?: string; place?: ClientPlace },
): string {
  const place = options.place ?? IN_IMAGE;
  const lines = [prelude(place)];
  const config = (flag: string) => (options.config ? ` ${flag} ${options.config}` : '');
  const topics = (args: string) =>
    kafkaJava(
      version,
      'org.apache.kafka.tools.TopicCommand',
      `--bootstrap-server ${bootstrap}${config('--command-config')} ${args}`,
      place,
    );
  if (options.rf !== undefined) {
    lines.push(
      `retry ${topics(`--create --if-not-exists --topic ${topic} --partitions 2 --replication-factor ${options.rf}`)}`,
      `retry ${topics(`--describe --topic ${topic}`)}`,
    );
  }
  if (options.messages?.length) {
    const producer = kafkaJava(
      version,
      producerClass(version),
      `--bootstrap-server ${bootstrap}${config('--producer.config')} --topic ${topic} --producer-property acks=all`,
      place,
    );
    lines.push(`produce() { printf '%s\\n' ${options.messages.join(' ')} | ${producer}; }`, 'retry produce');
  }
  const consumer = kafkaJava(
    version,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    `--bootstrap-server ${bootstrap}${config('--consumer.config')} --topic ${topic} --from-beginning --max-messages ${options.expect} --timeout-ms 30000`,
    place,
  );
  lines.push(
    // A consumer that times out before the partitions' leaders are known reads fewer messages.
    `consume() { ${consumer} > ${place.tmp}/consumed; [ "$(grep -c . ${place.tmp}/consumed)" -ge ${options.expect} ]; }`,
    'retry consume',
    `sed "s/^/consumed: /" ${place.tmp}/consumed`,
  );
  return lines.join('\n');
}

/**
 * Kafka's tools of `version` on the test machine: a directory linking the jars keelson's image
 * carries in `/opt/kafka/libs` (from keelson's cache) and a scratch directory; the machine's `java`.
 */
export async function hostClientPlace(version: string): Promise<ClientPlace> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `keelson-kafka-client-${version}-`));
  const libs = path.join(root, 'libs');
  fs.mkdirSync(libs);
  for (const jar of await kafkaDistributionJars(version, keelsonCacheDir()))
    fs.symlinkSync(jar, path.join(libs, path.basename(jar)));
  return { libs, tmp: root };
}

/** Runs a client script with bash on the test machine; its output, or an error holding it. */
export function runOnHost(script: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(
          new Error(
            `the client on the host ended with ${signal ?? `exit code ${code}`}:\n${output.slice(-4000)}`,
          ),
        );
    });
  });
}
