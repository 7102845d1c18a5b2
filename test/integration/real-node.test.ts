/**
 * The real node (test/controlplane/real-node.ts) runs real containers: it registers Ready with
 * its taint and label; a pod with keelson's restricted security context (uid 10001, read-only
 * root, no capabilities, RuntimeDefault seccomp) runs in a namespace enforcing the restricted
 * Pod Security profile and its output is read back through the API server (which reaches the
 * kubelet); such a pod writes to a claim of the default StorageClass; and one pod reaches another
 * through a ClusterIP Service by its DNS name (CoreDNS, kube-proxy, the pod bridge). A failure
 * prints the containers' logs.
 */
import * as k8s from '@kubernetes/client-node';
import { RESTRICTED } from './admission';
import {
  realNode,
  realNodePodLogs,
  REAL_NODE_LABEL,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
} from './real-node-support';
import { adminClients, useTestNamespace, waitFor } from './support';

// The first test may start the node (and, on a cold machine, build its binaries).
jest.setTimeout(25 * 60_000);

function shellPod(
  name: string,
  image: string,
  script: string,
  extra: Partial<k8s.V1PodSpec> = {},
): k8s.V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      ...REAL_NODE_PLACEMENT,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image,
          imagePullPolicy: 'Never',
          command: ['/bin/sh', '-c', script],
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
      ...extra,
    },
  };
}

describe('the real node', () => {
  const ns = useTestNamespace('real-node', RESTRICTED);
  const { core } = adminClients();

  /** Waits for a pod to reach `phase`; on failure the error carries its status and logs. */
  async function waitForPhase(name: string, phase: string, timeoutMs = 120_000) {
    try {
      await waitFor(
        `pod ${name} to be ${phase}`,
        async () => {
          const pod = await core.readNamespacedPod({ name, namespace: ns.name });
          if (phase !== 'Failed' && pod.status?.phase === 'Failed') throw new Error(`pod ${name} Failed`);
          return pod.status?.phase === phase;
        },
        timeoutMs,
        undefined,
        undefined,
        async () => JSON.stringify((await core.readNamespacedPod({ name, namespace: ns.name })).status),
      );
    } catch (error) {
      const logs = await realNodePodLogs(ns.name, name);
      throw new Error(`${(error as Error).message}\ncontainer logs of ${name}:\n${logs}`, { cause: error });
    }
  }

  it('is Ready, labelled and tainted so that only pods that ask land on it', async () => {
    const node = await realNode();
    const read = await core.readNode({ name: node.nodeName });
    expect(read.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(read.metadata?.labels?.[REAL_NODE_LABEL]).toBe('true');
    expect(read.spec?.taints).toEqual(
      expect.arrayContaining([{ key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' }]),
    );
    expect(read.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/2\./);
    expect(read.status?.addresses).toEqual(
      expect.arrayContaining([{ type: 'InternalIP', address: node.nodeIp }]),
    );
  });

  it('runs a pod as uid 10001 with a read-only root under the restricted profile, and serves its log', async () => {
    const node = await realNode();
    const script = [
      'echo "uid=$(id -u) gid=$(id -g)"',
      'if touch /probe 2>/dev/null; then echo "root=writable"; else echo "root=read-only"; fi',
      'echo keelson > /tmp/out && echo "tmp=$(cat /tmp/out)"',
      'grep -q "^CapEff:[[:space:]]*0000000000000000$" /proc/self/status && echo "caps=none"',
      'grep "^Seccomp:" /proc/self/status | tr -d "[:space:]"; echo',
    ].join('; ');
    await core.createNamespacedPod({
      namespace: ns.name,
      body: shellPod('restricted', node.busyboxImage, script),
    });
    await waitForPhase('restricted', 'Succeeded');
    const pod = await core.readNamespacedPod({ name: 'restricted', namespace: ns.name });
    expect(pod.spec?.nodeName).toBe(node.nodeName);
    // Through the API server, which asks the kubelet: the log endpoint works for people too.
    const log = await core.readNamespacedPodLog({ name: 'restricted', namespace: ns.name });
    expect(log.split('\n')).toEqual(
      expect.arrayContaining([
        'uid=10001 gid=10001',
        'root=read-only',
        'tmp=keelson',
        'caps=none',
        'Seccomp:2', // filter mode: the runtime's default profile is in force
      ]),
    );
  });

  it('gives a pod running as uid 10001 a claim of the default StorageClass it can write to', async () => {
    const node = await realNode();
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const pod = shellPod('writer', node.busyboxImage, 'echo persisted > /data/file && cat /data/file');
    pod.spec!.containers[0].volumeMounts!.push({ name: 'data', mountPath: '/data' });
    pod.spec!.volumes!.push({ name: 'data', persistentVolumeClaim: { claimName: 'data' } });
    await core.createNamespacedPod({ namespace: ns.name, body: pod });
    await waitForPhase('writer', 'Succeeded');
    expect((await core.readNamespacedPodLog({ name: 'writer', namespace: ns.name })).trim()).toBe(
      'persisted',
    );
  });

  it('lets a pod reach another through a ClusterIP Service by its DNS name', async () => {
    const node = await realNode();
    const server = shellPod(
      'echo',
      node.busyboxImage,
      'mkdir -p /tmp/www && echo "pong from $(hostname)" > /tmp/www/index.html && exec httpd -f -v -p 8080 -h /tmp/www',
    );
    server.spec!.restartPolicy = 'Always';
    server.spec!.containers[0].ports = [{ name: 'http', containerPort: 8080 }];
    server.spec!.containers[0].readinessProbe = { tcpSocket: { port: 8080 }, periodSeconds: 1 };
    await core.createNamespacedPod({ namespace: ns.name, body: server });
    await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    await waitFor(
      'pod echo to be Ready',
      async () => {
        const pod = await core.readNamespacedPod({ name: 'echo', namespace: ns.name });
        return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      120_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await realNodePodLogs(ns.name, 'echo')}`);
    });

    // The client tries until kube-proxy has programmed the Service (a few seconds at most).
    const url = `http://echo.${ns.name}.svc.cluster.local/`;
    const client = shellPod(
      'client',
      node.busyboxImage,
      `for i in $(seq 1 60); do if wget -q -O - ${url}; then exit 0; fi; sleep 1; done; echo "no answer from ${url}"; exit 1`,
    );
    await core.createNamespacedPod({ namespace: ns.name, body: client });
    await waitForPhase('client', 'Succeeded');
    const log = await core.readNamespacedPodLog({ name: 'client', namespace: ns.name });
    expect(log.trim()).toBe('pong from echo');
  });
});
