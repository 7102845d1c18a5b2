/**
 * The operator's cache against the real API server, reached through keelson's own kubeconfig
 * loader (not client-node's): it lists, follows changes and deletions, and keeps objects without
 * their managedFields.
 */
import pino from 'pino';
import { loadApiAccess } from '../../lib/operator/api-access';
import { KindCache } from '../../lib/operator/cache';
import { KubeClient } from '../../lib/operator/client';
import { useTestNamespace, waitFor } from './support';

const CONFIG_MAPS = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };

describe('the operator cache', () => {
  const namespace = useTestNamespace('informer');

  it('lists, follows and forgets objects, without managedFields', async () => {
    const client = new KubeClient(loadApiAccess({ KUBECONFIG: process.env.KEELSON_TEST_KUBECONFIG }));
    const path = `/api/v1/namespaces/${namespace.name}/configmaps`;
    await client.request('create', 'POST', path, 'configmaps', {
      body: { metadata: { name: 'before', labels: { watched: 'yes' } }, data: { a: '1' } },
    });
    const cache = new KindCache(
      client,
      CONFIG_MAPS,
      { namespaces: [namespace.name], labelSelector: 'watched=yes' },
      pino({ level: 'silent' }),
    );
    cache.start();
    try {
      await cache.waitForSync();
      const listed = cache.get(namespace.name, 'before');
      expect(listed?.data).toEqual({ a: '1' });
      expect(listed?.metadata.managedFields).toBeUndefined();

      await client.request('create', 'POST', path, 'configmaps', {
        body: { metadata: { name: 'after', labels: { watched: 'yes' } }, data: { b: '2' } },
      });
      await client.request('create', 'POST', path, 'configmaps', {
        body: { metadata: { name: 'unlabelled' }, data: {} },
      });
      await client.request('patch', 'PATCH', `${path}/before`, 'configmaps', {
        body: { data: { a: '3' } },
        contentType: 'application/merge-patch+json',
      });
      await waitFor('the watch to deliver the change', () =>
        Promise.resolve(
          (cache.get(namespace.name, 'before')?.data as Record<string, string> | undefined)?.a === '3',
        ),
      );
      const watched = cache.get(namespace.name, 'after');
      expect(watched?.data).toEqual({ b: '2' });
      expect(watched?.metadata.managedFields).toBeUndefined();
      expect(cache.get(namespace.name, 'unlabelled')).toBeUndefined();

      await client.request('delete', 'DELETE', `${path}/after`, 'configmaps');
      await waitFor('the watch to deliver the deletion', () =>
        Promise.resolve(cache.get(namespace.name, 'after') === undefined),
      );
      expect([...cache.list(namespace.name)].map((o) => o.metadata.name)).toEqual(['before']);
    } finally {
      await cache.stop();
    }
  });
});
