/**
 * Kafka's own command-line clients, run in a client pod of keelson's Kafka image (Kafka's jars in
 * `/opt/kafka/libs`) by the real-node tests: topics, a console producer and a console consumer,
 * each retried until it succeeds.
 */

/**
 * A client's bash prelude: warnings only from the tools' logging (to stderr), and `retry CMD…`, which
 * runs CMD until it succeeds or five minutes have passed, so that a client started while the
 * bootstrap Service's endpoints or DNS records are still being published waits for them instead of
 * failing.
 */
export const PRELUDE = [
  'set -eu',
  "printf '%s\\n' 'log4j.rootLogger=WARN, stderr' 'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' " +
    "'log4j.appender.stderr.Target=System.err' 'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' > /tmp/log4j.properties",
  "printf '%s\\n' 'appender.err.type=Console' 'appender.err.name=err' 'appender.err.target=SYSTEM_ERR' " +
    "'appender.err.layout.type=PatternLayout' 'rootLogger.level=WARN' 'rootLogger.appenderRef.err.ref=err' > /tmp/log4j2.properties",
  'deadline=$(( $(date +%s) + 300 ))',
  'retry() { until "$@"; do if [ "$(date +%s)" -ge "$deadline" ]; then echo "gave up: $*"; return 1; fi; sleep 3; done; }',
].join('\n');

/** `java` running one of Kafka's classes with a small heap and the prelude's logging. */
export function kafkaJava(version: string, mainClass: string, args: string): string {
  const log4j = version.startsWith('3.')
    ? '-Dlog4j.configuration=file:/tmp/log4j.properties'
    : '-Dlog4j2.configurationFile=/tmp/log4j2.properties';
  return `java -Xmx128m ${log4j} -cp '/opt/kafka/libs/*' ${mainClass} ${args}`;
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
  options: { rf?: number; messages?: string[]; expect: number; config?: string },
): string {
  const lines = [PRELUDE];
  const config = (flag: string) => (options.config ? ` ${flag} ${options.config}` : '');
  const topics = (args: string) =>
    kafkaJava(
      version,
      'org.apache.kafka.tools.TopicCommand',
      `--bootstrap-server ${bootstrap}${config('--command-config')} ${args}`,
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
    );
    lines.push(`produce() { printf '%s\\n' ${options.messages.join(' ')} | ${producer}; }`, 'retry produce');
  }
  const consumer = kafkaJava(
    version,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    `--bootstrap-server ${bootstrap}${config('--consumer.config')} --topic ${topic} --from-beginning --max-messages ${options.expect} --timeout-ms 30000`,
  );
  lines.push(
    // A consumer that times out before the partitions' leaders are known reads fewer messages.
    `consume() { ${consumer} > /tmp/consumed; [ "$(grep -c . /tmp/consumed)" -ge ${options.expect} ]; }`,
    'retry consume',
    'sed "s/^/consumed: /" /tmp/consumed',
  );
  return lines.join('\n');
}
