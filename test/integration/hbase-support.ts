/** What the real-node suites of HBase on a Kerberos HDFS share (hbase-kerberos-real-node, kerberos-hdfs-hbase-operator-real-node). */
import { execInPod } from './real-node-support';
import { waitFor } from './support';

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** What one REST request answered: status, the headers of every response (the 401 challenge too), body. */
export interface RestAnswer {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** One request to a Kerberos HBase's REST server; `user` null sends it with an empty credential cache. */
export type SpnegoRest = (
  method: string,
  path: string,
  accept: string,
  contentType?: string,
  body?: string,
  user?: string | null,
) => Promise<RestAnswer>;

/**
 * The REST client of a Kerberos HBase: curl with SPNEGO (`--negotiate -u :`) in the pod `clientPod`
 * (kinit and curl; the keytab of each user at `/k/<user>.keytab`), on a new ticket of the user
 * (`defaultUser` unless named), to `restHost` — a REST pod's DNS name, whose `HTTP/` principal that
 * pod holds (the Service name has none). With `caFile` (a path in the client pod) it speaks HTTPS,
 * trusting that CA only.
 */
export function spnegoRest(
  namespace: string,
  clientPod: string,
  restHost: string,
  realm: string,
  defaultUser: string,
  caFile?: string,
): SpnegoRest {
  return async (method, path, accept, contentType = '', body = '', user = defaultUser) => {
    const url = `${caFile ? 'https' : 'http'}://${restHost}:8080${path}`;
    const script = [
      'rm -f /tmp/headers /tmp/body',
      `export KRB5CCNAME=FILE:/tmp/${user ?? 'none'}.cc`,
      // A new ticket each time: every start of a REST pod draws new keys, so a service ticket
      // cached from before its restart is refused (403, "Checksum failed").
      'kdestroy -q 2>/dev/null',
      user ? `kinit -k -t /k/${user}.keytab ${user}@${realm}` : '',
      `code=$(curl -sS --max-time 60 ${caFile ? `--cacert ${q(caFile)} ` : ''}--negotiate -u : ` +
        `-X ${method} -H ${q(`Accept: ${accept}`)} ` +
        (body ? `-H ${q(`Content-Type: ${contentType}`)} --data-binary ${q(body)} ` : '') +
        `-D /tmp/headers -o /tmp/body -w '%{http_code}' ${q(url)})`,
      // No answer at all (curl's 000: nothing listening, or plain HTTP to an HTTPS port) is status 0.
      'echo "$code"; cat /tmp/headers 2>/dev/null; echo "--body--"; cat /tmp/body 2>/dev/null; true',
    ].join('\n');
    const out = await execInPod(namespace, clientPod, script);
    const [head, ...bodyParts] = out.split('--body--\n');
    const [status, ...headers] = head.split('\n');
    return { status: Number(status), headers: headers.join('\n'), body: bodyParts.join('--body--\n') };
  };
}

/** The table `keelson` with family `cf`, and its row `row1`, through a REST client. */
export function hbaseRest(rest: SpnegoRest, logs: () => Promise<string>) {
  const readRow = async () => {
    const answer = await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream').catch(
      () => undefined,
    );
    return answer?.status === 200 ? answer.body : undefined;
  };
  const clusterStatus = async () =>
    (await rest('GET', '/status/cluster', 'text/plain').catch(() => ({ body: '' }))).body;
  const createTable = async (timeoutMs: number, owner: string) => {
    let created: RestAnswer = { status: 0, headers: '', body: '' };
    await waitFor(
      'the table to be created',
      async () => {
        created = await rest(
          'PUT',
          '/keelson/schema',
          'application/json',
          'application/json',
          '{"name":"keelson","ColumnSchema":[{"name":"cf"}]}',
          owner,
        ).catch(() => created);
        return created.status === 201 || created.status === 200;
      },
      timeoutMs,
      undefined,
      undefined,
      async () => `${JSON.stringify(created)}\n${await logs()}`,
    );
  };
  return {
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
    /**
     * Creates the table as `owner` (a superuser: with HBase's authorization on, alice may create
     * none), waiting until the master takes it.
     */
    createTable,
    /** Creates the table as `owner`, then `owner` puts the row and reads it back. */
    tableAndRow: async (timeoutMs: number, owner: string) => {
      await createTable(timeoutMs, owner);
      const put = await rest(
        'PUT',
        '/keelson/row1/cf:greeting',
        '*/*',
        'application/octet-stream',
        'keelson was here',
        owner,
      );
      expect(put).toMatchObject({ status: 200 });
      const read = await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream', '', '', owner);
      expect(read).toMatchObject({ status: 200, body: 'keelson was here' });
    },
  };
}
