/**
 * Kubernetes Events on a stacklet's custom resource, so `kubectl describe` tells a user why their
 * stacklet is not running. Core v1 Events: every kubectl shows them and RBAC needs only `create`.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from './client';
import type { KubeObject } from './informer';

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
  ) {}

  /** Records an event on `object`; failures are swallowed by the caller's choice (events are best effort). */
  public async record(
    object: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const namespace = object.metadata.namespace ?? 'default';
    await this.client.request('create', 'POST', `/api/v1/namespaces/${namespace}/events`, 'events', {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          // A cluster-scoped object's Events live in `default` and name no namespace of it.
          namespace: object.metadata.namespace,
          uid: object.metadata.uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: 'keelson' },
        reportingComponent: 'keelson',
        reportingInstance: this.instance,
      },
    });
  }
}
