/** What the real-node suites of HBase on a Kerberos HDFS share (hbase-kerberos-real-node, kerberos-hdfs-hbase-operator-real-node). */
import { execInPod } from './real-node-support';
import { waitFor } from './support';

/**
 * One HTTP/1.0 request to the REST server of the pod `pod`, from inside it (bash's /dev/tcp: the
 * HBase image has no curl): status and body. Under Kerberos the REST server logs in from its keytab
 * to talk to the master and the regionservers; its HTTP clients are not authenticated.
 */
export async function restInPod(
  namespace: string,
  pod: string,
  method: string,
  path: string,
  accept: string,
  contentType = '',
  body = '',
): Promise<{ status: number; body: string }> {
  const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const head =
    `${method} ${path} HTTP/1.0\\r\\nAccept: ${accept}\\r\\n` +
    (body ? `Content-Type: ${contentType}\\r\\nContent-Length: ${body.length}\\r\\n` : '') +
    '\\r\\n';
  const script = `exec 3<>/dev/tcp/127.0.0.1/8080; printf ${q(head)} >&3; printf '%s' ${q(body)} >&3; cat <&3`;
  const out = await execInPod(namespace, pod, `bash -c ${q(script)}`);
  const [status, ...rest] = out.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(status)?.[1] ?? 0), body: rest.join('\r\n\r\n') };
}

/** The REST client of one HBase's REST pod: the table `keelson` with family `cf`, and its row `row1`. */
export function hbaseRest(namespace: string, pod: string, logs: () => Promise<string>) {
  const rest = (...args: Parameters<typeof restInPod> extends [string, string, ...infer R] ? R : never) =>
    restInPod(namespace, pod, ...args);
  const readRow = async () => {
    const answer = await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream').catch(
      () => undefined,
    );
    return answer?.status === 200 ? answer.body : undefined;
  };
  const clusterStatus = async () =>
    (await rest('GET', '/status/cluster', 'text/plain').catch(() => ({ body: '' }))).body;
  return {
    rest,
    readRow,
    clusterStatus,
    /** Waits until the master counts `n` live regionservers (the REST server asks it); their status. */
    liveServers: async (n: number, timeoutMs: number) => {
      let status = '';
      await waitFor(
        `the master to count ${n} live regionserver(s)`,
        async () => new RegExp(`^${n} live servers`, 'm').test((status = await clusterStatus())),
        timeoutMs,
        undefined,
        undefined,
        async () => `${status}\n${await logs()}`,
      );
      return status;
    },
    /** Creates the table (waiting until the master takes it), puts the row, and expects it read back. */
    tableAndRow: async (timeoutMs: number) => {
      let created = { status: 0, body: '' };
      await waitFor(
        'the table to be created',
        async () => {
          created = await rest(
            'PUT',
            '/keelson/schema',
            'application/json',
            'application/json',
            '{"name":"keelson","ColumnSchema":[{"name":"cf"}]}',
          ).catch(() => created);
          return created.status === 201 || created.status === 200;
        },
        timeoutMs,
        undefined,
        undefined,
        async () => `${JSON.stringify(created)}\n${await logs()}`,
      );
      const put = await rest(
        'PUT',
        '/keelson/row1/cf:greeting',
        '*/*',
        'application/octet-stream',
        'keelson was here',
      );
      expect(put).toMatchObject({ status: 200 });
      expect(await readRow()).toBe('keelson was here');
    },
  };
}
