import { App, Chart, Testing } from 'cdk8s';
import {
  defineRole,
  Stacklet,
  stackletSpecSchema,
  STOPPED_NODE_LABEL,
  type AnyStackletSpec,
  type ProductDefinition,
} from '../lib';
import { workloadReadiness } from '../lib/operator/readiness';

/** A product with one DaemonSet role: an agent on every node. */
const AGENT: ProductDefinition = {
  name: 'agent',
  kind: 'AgentSet',
  plural: 'agentsets',
  description: 'test product',
  specSchema: stackletSpecSchema({
    description: 'test product',
    clusterConfig: {},
    roles: { agents: { config: {}, configFiles: ['agent.yaml'], jvm: false } },
  }),
  images: { repository: 'registry.invalid/agent', versions: { '1': '1' }, defaultVersion: '1' },
  roles: [
    defineRole({
      name: 'agents',
      config: {},
      workload: 'DaemonSet',
      defaults: () => ({
        resources: { cpu: { min: '100m', max: '200m' }, memory: { limit: '64Mi' }, storage: {} },
        logging: {},
        gracefulShutdownTimeout: '10s',
      }),
      ports: [{ name: 'metrics', port: 9100 }],
      configFiles: { 'agent.yaml': 'yaml' },
      configMountPath: '/etc/agent',
      pod: () => ({ container: {}, configFiles: { 'agent.yaml': { scrape: true } } }),
    }),
  ],
};

function synth(spec: AnyStackletSpec) {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'ops' });
  new Stacklet(chart, 'node-agent', AGENT, spec);
  return Testing.synth(chart).find((o) => o.kind === 'DaemonSet');
}

describe('a DaemonSet role', () => {
  test('builds a DaemonSet with the secure pod template and no replicas', () => {
    const ds = synth({});
    expect(ds.metadata.name).toBe('node-agent-agents-default');
    expect(ds.spec.replicas).toBeUndefined();
    expect(ds.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('agents');
    expect(ds.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(ds.spec.template.spec.nodeSelector).toBeUndefined();
  });

  test('when stopped, selects no node and keeps the rest of the pod as it was', () => {
    const running = synth({});
    const stopped = synth({ clusterOperation: { stopped: true } });
    expect(stopped.spec.template.spec.nodeSelector).toEqual({ [STOPPED_NODE_LABEL]: 'true' });
    const { nodeSelector: _dropped, ...rest } = stopped.spec.template.spec;
    expect(rest).toEqual(running.spec.template.spec);
  });

  test('rejects persistent storage, which a DaemonSet cannot claim', () => {
    const chart = new Chart(new App(), 'platform', { namespace: 'data' });
    const { problems } = new Stacklet(chart, 'node-agent', AGENT, {
      agents: { config: { resources: { storage: { data: { capacity: '1Gi' } } } } },
    } as AnyStackletSpec);
    expect(problems).toEqual([
      'spec.agents.roleGroups.default.config.resources.storage: the agents role runs a DaemonSet, whose pods have no persistent volumes; remove the storage (only StatefulSet roles take it)',
    ]);
  });
});

describe('workload readiness as the operator reads it', () => {
  const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'a' }, spec: {} };
  const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { replicas: 3 } };
  const live = (o: object, generation: number, status: object) =>
    ({ ...o, metadata: { name: 'x', generation }, status }) as never;

  test('a DaemonSet is ready when every scheduled pod is updated and ready', () => {
    expect(
      workloadReadiness(
        ds,
        live(ds, 2, {
          observedGeneration: 2,
          desiredNumberScheduled: 2,
          numberReady: 2,
          updatedNumberScheduled: 2,
        }),
      ).ready,
    ).toBe(true);
    expect(
      workloadReadiness(
        ds,
        live(ds, 2, {
          observedGeneration: 2,
          desiredNumberScheduled: 2,
          numberReady: 1,
          updatedNumberScheduled: 2,
        }),
      ),
    ).toEqual({ ready: false, text: 'DaemonSet a 1/2 ready' });
  });

  test('a status older than the object says nothing yet', () => {
    expect(
      workloadReadiness(
        sts,
        live(sts, 3, { observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 3 }),
      ).ready,
    ).toBe(false);
    expect(
      workloadReadiness(
        sts,
        live(sts, 3, { observedGeneration: 3, replicas: 3, readyReplicas: 3, updatedReplicas: 3 }),
      ).ready,
    ).toBe(true);
  });

  test('a rollout is not ready on the old revision pods, and a pod that stops being ready makes it not ready again', () => {
    // A new pod template: all three pods still Ready, but only one runs the new revision.
    expect(
      workloadReadiness(
        sts,
        live(sts, 4, { observedGeneration: 4, replicas: 3, readyReplicas: 3, updatedReplicas: 1 }),
      ),
    ).toEqual({ ready: false, text: 'StatefulSet s 3/3 ready' });
    // A surge pod beside the wanted three (replicas counts every pod the workload owns).
    expect(
      workloadReadiness(
        sts,
        live(sts, 4, { observedGeneration: 4, replicas: 4, readyReplicas: 3, updatedReplicas: 3 }),
      ).ready,
    ).toBe(false);
    expect(
      workloadReadiness(
        sts,
        live(sts, 4, { observedGeneration: 4, replicas: 3, readyReplicas: 2, updatedReplicas: 3 }),
      ),
    ).toEqual({ ready: false, text: 'StatefulSet s 2/3 ready' });
  });

  test('a workload not created yet is not ready', () => {
    expect(workloadReadiness(sts, undefined)).toEqual({ ready: false, text: 'StatefulSet s 0/3 ready' });
  });
});
