/**
 * Secrets a stacklet's pods read, on the real control plane, with the operator running as the
 * ServiceAccount of the generated ClusterRole (which may only list and watch Secrets): a missing
 * Secret is named in the status and its creation rolls the pods; a change to the Secret alone
 * rolls the pods that read it and no others; and no Secret value reaches the operator's log.
 */
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { SECRETS_HASH_ANNOTATION } from '../../lib/operator/secret-references';
import { CONFIG_HASH_ANNOTATION } from '../../lib/stacklet/labels';
import {
  beacons,
  waitForCondition,
  type OperatorProcess,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, waitFor } from './support';

const { kc, core, apps } = adminClients();
const beacon = beacons(kc);

/** Values that only the Secrets may hold. */
const VALUES = ['first-password-2c7d91', 'rotated-password-5b0e44', 'unrelated-value-81fa3c'];

let namespace = '';
let operator: OperatorProcess;

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('operator-secrets'));
});

afterAll(() => stopOperatorInNamespace({ namespace, operator }));

/** A small Beacon whose servers read `PASSWORD` from Secret `secret` (through podOverrides). */
const readingSecret = (secret: string) => ({
  servers: {
    roleGroups: { default: { replicas: 1 } },
    podOverrides: {
      spec: {
        containers: [
          {
            name: 'beacon',
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'password' } } }],
          },
        ],
      },
    },
  },
  gateways: { roleGroups: { default: { replicas: 1 } } },
});

const statefulSet = (name: string) => apps.readNamespacedStatefulSet({ name, namespace });
const templateAnnotations = (workload: k8s.V1StatefulSet | k8s.V1Deployment) =>
  workload.spec?.template.metadata?.annotations ?? {};
const secretsHash = async (name: string) =>
  templateAnnotations(await statefulSet(name))[SECRETS_HASH_ANNOTATION];

/**
 * Creates or replaces Secret `name` with `password`, carrying the annotation `kubectl apply`
 * leaves (which holds the data too).
 */
async function writeSecret(name: string, password: string): Promise<void> {
  const body = {
    metadata: {
      name,
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ stringData: { password } }),
      },
    },
    stringData: { password },
  };
  try {
    await core.replaceNamespacedSecret({ name, namespace, body });
  } catch {
    await core.createNamespacedSecret({ namespace, body });
  }
}

describe('the operator and the Secrets pods read', () => {
  it('names a missing Secret in the status, and rolls the pods once it appears', async () => {
    await beacon.create(namespace, 'reader', readingSecret('reader-credentials'));
    await waitForCondition(namespace, 'reader', 'Progressing', 'True', 'SecretMissing');
    const progressing = await beacon.condition(namespace, 'reader', 'Progressing');
    expect(progressing?.message).toContain('Secret "reader-credentials"');
    expect((await beacon.condition(namespace, 'reader', 'Available'))?.message).toContain(
      'Secret "reader-credentials"',
    );
    await waitFor('a Warning Event naming the missing Secret', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=reader',
      });
      return events.items.some(
        (e) =>
          e.type === 'Warning' && e.reason === 'SecretMissing' && e.message?.includes('reader-credentials'),
      );
    });
    // The workloads are written anyway (Kubernetes holds the pods until the Secret exists).
    const whileMissing = await secretsHash('reader-servers-default');
    expect(whileMissing).toMatch(/^[0-9a-f]{16}$/);

    await writeSecret('reader-credentials', VALUES[0]);
    await waitFor('the servers pod template to follow the new Secret', async () => {
      const hash = await secretsHash('reader-servers-default');
      return hash !== undefined && hash !== whileMissing;
    });
    await waitForCondition(namespace, 'reader', 'Progressing', 'False', 'Reconciled');
    await waitForCondition(namespace, 'reader', 'Available', 'True');
    expect((await beacon.condition(namespace, 'reader', 'Available'))?.message).not.toContain('Secret');
    // Only the role whose pods read the Secret is stamped.
    const gateways = await apps.readNamespacedDeployment({ name: 'reader-gateways-default', namespace });
    expect(templateAnnotations(gateways)[SECRETS_HASH_ANNOTATION]).toBeUndefined();
  });

  it('rolls the pods that read a Secret when only the Secret changes, and no others', async () => {
    await beacon.create(namespace, 'plain', {
      servers: { roleGroups: { default: { replicas: 1 } } },
      gateways: { roleGroups: { default: { replicas: 1 } } },
    });
    await waitForCondition(namespace, 'plain', 'Available', 'True');
    await waitForCondition(namespace, 'reader', 'Available', 'True');
    const plainBefore = await statefulSet('plain-servers-default');
    expect(templateAnnotations(plainBefore)[SECRETS_HASH_ANNOTATION]).toBeUndefined();
    const readerBefore = await statefulSet('reader-servers-default');
    const stackletBefore = await beacon.get(namespace, 'reader');

    // An unrelated Secret changes, then the one reader's pods read.
    await writeSecret('unrelated', VALUES[2]);
    await writeSecret('reader-credentials', VALUES[1]);
    await waitFor('the servers pod template to follow the rotated Secret', async () => {
      const hash = await secretsHash('reader-servers-default');
      return hash !== templateAnnotations(readerBefore)[SECRETS_HASH_ANNOTATION];
    });
    const readerAfter = await statefulSet('reader-servers-default');
    // Nothing else of the pods changed, and the stacklet was not touched.
    expect(templateAnnotations(readerAfter)[CONFIG_HASH_ANNOTATION]).toBe(
      templateAnnotations(readerBefore)[CONFIG_HASH_ANNOTATION],
    );
    expect((await beacon.get(namespace, 'reader')).metadata.generation).toBe(
      stackletBefore.metadata.generation,
    );
    await waitForCondition(namespace, 'reader', 'Available', 'True');

    // By now the operator has seen both Secret events; the Beacon that reads no Secret was not rolled.
    const plainAfter = await statefulSet('plain-servers-default');
    expect(plainAfter.metadata?.generation).toBe(plainBefore.metadata?.generation);
    expect(plainAfter.spec?.template).toEqual(plainBefore.spec?.template);
  });

  it('does not roll running pods when a Secret they read is deleted, and rolls them once it is back', async () => {
    await waitForCondition(namespace, 'reader', 'Available', 'True');
    const running = await secretsHash('reader-servers-default');
    expect(running).toBeDefined();

    await core.deleteNamespacedSecret({ name: 'reader-credentials', namespace });
    await waitForCondition(namespace, 'reader', 'Progressing', 'True', 'SecretMissing');
    // The reconcile that saw the Secret gone has applied: the running pods keep their stamp.
    expect(await secretsHash('reader-servers-default')).toBe(running);

    await writeSecret('reader-credentials', VALUES[1]);
    await waitFor('the pods to roll once the Secret is back', async () => {
      const hash = await secretsHash('reader-servers-default');
      return hash !== undefined && hash !== running;
    });
    await waitForCondition(namespace, 'reader', 'Available', 'True');
  });

  it('never writes a Secret value to its debug log', async () => {
    const log = fs.readFileSync(operator.logFile, 'utf8');
    // The log is at debug level and saw the Secrets' events and the rollouts they caused.
    expect(log).toContain('"level":"debug"');
    expect(log).toContain('reader-credentials');
    const leaks = VALUES.flatMap((value) => [value, Buffer.from(value).toString('base64')]).filter((value) =>
      log.includes(value),
    );
    expect(leaks).toEqual([]);
  });
});
