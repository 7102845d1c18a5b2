import { reconciledConditions } from '../lib/operator/conditions';
import {
  clean,
  CONTAINERS_FAILING,
  describeProblems,
  MESSAGE_TAIL_CHARS,
  podHealthChanged,
  podHealthView,
  podProblems,
  problemsSignature,
} from '../lib/operator/pod-health';
import type { KubeObject } from '../lib/operator/informer';

const ZK_ERROR = [
  '2026-12-01 05:40:01,123 [myid:] - INFO  [main:QuorumPeerConfig@174] - Reading configuration from: /stackable/config/zoo.cfg',
  '2026-12-01 05:40:01,130 [myid:] - ERROR [main:QuorumPeerMain@99] - Invalid config, exiting abnormally',
  'org.apache.zookeeper.server.quorum.QuorumPeerConfig$ConfigException: Error processing /stackable/config/zoo.cfg',
  'Caused by: java.lang.NumberFormatException: For input string: "not-a-number"',
  ...Array.from(
    { length: 20 },
    (_, i) => `\tat org.apache.zookeeper.server.quorum.Frame${i}.run(Frame${i}.java:${i})`,
  ),
  '\t... 7 more',
  '\t... 2 common frames omitted',
  'Invalid config, exiting abnormally',
].join('\n');

function pod(name: string, status: object, metadata: object = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', ...metadata }, status };
}

const notReady = [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }];

function crashLooping(name: string, message = ZK_ERROR, exitCode = 2): KubeObject {
  return pod(name, {
    phase: 'Running',
    conditions: notReady,
    containerStatuses: [
      {
        name: 'zookeeper',
        ready: false,
        restartCount: 3,
        state: {
          waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' },
        },
        lastState: { terminated: { exitCode, reason: 'Error', message } },
      },
    ],
  });
}

describe('why pods are not Ready', () => {
  it('names the pod, the container, the exit code and the end of the product log of a crash loop', () => {
    const problems = podProblems([crashLooping('zk-servers-default-2')]);
    expect(problems).toEqual([
      expect.objectContaining({
        pod: 'zk-servers-default-2',
        container: 'zookeeper',
        reason: 'Error',
        exitCode: 2,
      }),
    ]);
    const text = describeProblems(problems);
    expect(text).toMatch(/^pod zk-servers-default-2 container zookeeper: exit code 2 \(Error\): /);
    expect(text).toContain(
      'NumberFormatException: For input string: "not-a-number" | Invalid config, exiting abnormally',
    );
    // Stack frames are left out: the messages fit in the bounded tail.
    expect(text).not.toContain('Frame');
    // The back-off's own message counts seconds: it is not the problem.
    expect(text).not.toContain('back-off');
  });

  it('reports one crash the same whether the container just ended, backs off or runs again', () => {
    const ended = pod('p', {
      conditions: notReady,
      containerStatuses: [
        { name: 'c', ready: false, state: { terminated: { exitCode: 1, reason: 'Error', message: 'boom' } } },
      ],
    });
    const backingOff = pod('p', {
      conditions: notReady,
      containerStatuses: [
        {
          name: 'c',
          ready: false,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'boom' } },
        },
      ],
    });
    const runningAgain = pod('p', {
      conditions: notReady,
      containerStatuses: [
        {
          name: 'c',
          ready: false,
          state: { running: { startedAt: 'x' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'boom' } },
        },
      ],
    });
    const texts = [ended, backingOff, runningAgain].map((p) => describeProblems(podProblems([p])));
    expect(new Set(texts)).toEqual(new Set(['pod p container c: exit code 1 (Error): boom']));
  });

  it('reports OOMKilled, image pulls, config errors of init containers and unschedulable pods', () => {
    const problems = podProblems([
      pod('a', {
        conditions: notReady,
        containerStatuses: [
          {
            name: 'kafka',
            ready: false,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          },
        ],
      }),
      pod('b', {
        conditions: notReady,
        initContainerStatuses: [
          {
            name: 'schema-init',
            ready: false,
            image: 'x:1',
            state: { waiting: { reason: 'ErrImagePull', message: 'rpc error: 12:00:01 not found' } },
          },
        ],
      }),
      pod('c', {
        conditions: notReady,
        containerStatuses: [
          {
            name: 'trino',
            ready: false,
            state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } },
          },
        ],
      }),
      pod('d', {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes: Insufficient cpu.',
          },
        ],
      }),
    ]);
    expect(problems.map((p) => [p.pod, p.container, p.reason, p.exitCode, p.message])).toEqual([
      ['a', 'kafka', 'OOMKilled', 137, ''],
      ['b', 'schema-init', 'ImagePullBackOff', undefined, 'cannot pull image x:1'],
      ['c', 'trino', 'CreateContainerConfigError', undefined, 'secret "db" not found'],
      ['d', undefined, 'Unschedulable', undefined, '0/1 nodes: Insufficient cpu.'],
    ]);
    expect(describeProblems(problems)).toMatch(
      /^pod a container kafka: exit code 137 \(OOMKilled\); .*; and 1 more$/,
    );
  });

  it('sees nothing wrong in Ready pods, starting pods, pods being deleted and completed init containers', () => {
    expect(
      podProblems([
        pod('ready', {
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: 'c', ready: true, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
          ],
        }),
        pod('starting', {
          conditions: notReady,
          initContainerStatuses: [
            { name: 'init', ready: true, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          ],
          containerStatuses: [{ name: 'c', ready: false, state: { running: {} } }],
        }),
        pod('creating', {
          conditions: notReady,
          containerStatuses: [
            { name: 'c', ready: false, state: { waiting: { reason: 'ContainerCreating' } } },
          ],
        }),
        pod('old', crashLooping('x').status as object, { deletionTimestamp: '2026-12-01T00:00:00Z' }),
      ]),
    ).toEqual([]);
  });

  it('never throws on odd pod states', () => {
    const odd = [
      pod('a', {}),
      pod('b', { conditions: null, containerStatuses: null }),
      pod('c', { containerStatuses: [null, {}, { state: null }, { lastState: { terminated: null } }] }),
      pod('d', { containerStatuses: [{ name: 'x', state: { terminated: { exitCode: 3 } } }] }),
      { metadata: { name: 'e' } } as KubeObject,
      pod('f', { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
    ];
    expect(() => podProblems(odd)).not.toThrow();
    expect(podProblems(odd).map((p) => [p.pod, p.reason])).toEqual([
      ['d', 'Error'],
      ['f', 'Evicted'],
    ]);
    expect(() => podHealthView({ metadata: { resourceVersion: '5' } } as KubeObject)).not.toThrow();
  });

  it('keeps the end of a long log on one line, bounded, with credentials masked', () => {
    const long = `${'x'.repeat(5000)}\nERROR cannot connect: password=hunter2 url=jdbc:postgresql://hive:pw-5e21@db:5432/m\n"secret": "s3cr3t", token: abc.def\n`;
    const text = clean(long);
    expect(text.length).toBeLessThanOrEqual(MESSAGE_TAIL_CHARS + 1);
    expect(text.startsWith('…')).toBe(true);
    expect(text).toContain('ERROR cannot connect: password=***');
    expect(text).toContain('://hive:***@db:5432');
    expect(text).toContain('"secret": "***"');
    expect(text).toContain('token: ***');
    for (const secret of ['hunter2', 'pw-5e21', 's3cr3t', 'abc.def']) expect(text).not.toContain(secret);
    expect(text).not.toContain('\n');
  });

  it('signs a set of failures without the log tail, so that each crash of a loop is not a new Event', () => {
    const first = podProblems([crashLooping('p', '05:40:01 Invalid config')]);
    const second = podProblems([crashLooping('p', '05:41:13 Invalid config')]);
    expect(describeProblems(first)).not.toEqual(describeProblems(second));
    expect(problemsSignature(first)).toEqual(problemsSignature(second));
    expect(problemsSignature(podProblems([crashLooping('p', 'x', 137)]))).not.toEqual(
      problemsSignature(first),
    );
  });

  it('keeps of a pod its identity, labels, owners and status, not its spec', () => {
    const full = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        uid: 'u',
        resourceVersion: '7',
        labels: { a: 'b' },
        annotations: { big: 'x'.repeat(1000) },
        managedFields: [{}],
      },
      spec: { containers: [{ name: 'c', env: [{ name: 'PASSWORD', value: 'no' }] }] },
      status: {
        phase: 'Running',
        podIP: '10.0.0.1',
        conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: 't' }],
        containerStatuses: [
          { name: 'c', ready: true, restartCount: 4, state: { running: { startedAt: 't' } } },
        ],
      },
    } as KubeObject;
    const view = podHealthView(full);
    expect(JSON.stringify(view)).not.toMatch(/PASSWORD|big|managedFields|restartCount/);
    // Its IP stays: node topology tables list pods by it (lib/topology).
    expect((view.status as { podIP?: string }).podIP).toBe('10.0.0.1');
    expect(view.metadata).toMatchObject({ name: 'p', namespace: 'ns', labels: { a: 'b' } });
    // When a container started stays: certificate restarts compare it with a CA's publication.
    expect((view.status as { containerStatuses: unknown[] }).containerStatuses[0]).toEqual({
      name: 'c',
      ready: true,
      state: { running: { startedAt: 't' } },
    });
    expect(podHealthChanged(view, podHealthView(full))).toBe(false);
    expect(
      podHealthChanged(
        view,
        podHealthView({ ...full, status: { ...(full.status as object), phase: 'Failed' } }),
      ),
    ).toBe(true);
  });
});

describe('conditions of a stacklet whose containers fail', () => {
  const base = {
    generation: 3,
    namespace: 'ns',
    stopped: false,
    workloads: [{ ready: false, text: 'StatefulSet zk-servers-default 2/3 ready' }],
    missingSecrets: [],
  };

  it('is Degraded with the failures and not Available', () => {
    const c = reconciledConditions({
      ...base,
      podProblems: podProblems([crashLooping('zk-servers-default-2')]),
    });
    expect(c.Degraded).toMatchObject({ status: 'True', reason: CONTAINERS_FAILING });
    expect(c.Degraded!.message).toContain(
      'pod zk-servers-default-2 container zookeeper: exit code 2 (Error)',
    );
    expect(c.Available).toMatchObject({ status: 'False', reason: 'ReplicasNotReady' });
    expect(c.Available!.message).toContain('see the Degraded condition');
  });

  it('names a pod waiting for a node in Available without being Degraded (a claim being bound, a node being added)', () => {
    const unschedulable = pod('zk-servers-default-0', {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
        },
      ],
    });
    const c = reconciledConditions({ ...base, podProblems: podProblems([unschedulable]) });
    expect(c.Degraded).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(c.Available).toMatchObject({ status: 'False', reason: 'ReplicasNotReady' });
    expect(c.Available!.message).toContain(
      'waiting: pod zk-servers-default-0: Unschedulable: 0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
    );
  });

  it('is not Degraded while pods merely start, nor when stopped', () => {
    expect(reconciledConditions({ ...base, podProblems: [] }).Degraded).toMatchObject({
      status: 'False',
      reason: 'Reconciled',
    });
    expect(
      reconciledConditions({
        ...base,
        stopped: true,
        podProblems: podProblems([crashLooping('zk-servers-default-2')]),
      }).Degraded,
    ).toMatchObject({ status: 'False' });
  });
});
