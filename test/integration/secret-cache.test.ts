/**
 * The operator's Secret cache against the real API server: listed (in pages) and watched as
 * PartialObjectMetadata, it follows creations, changes and deletions, and holds each Secret's
 * identity and version only — no data, and no annotations, which can carry the data (kubectl's
 * last-applied-configuration does).
 */
import pino from 'pino';
import { KindCache } from '../../lib/operator/cache';
import { KubeClient } from '../../lib/operator/client';
import { SECRET_RESOURCE } from '../../lib/operator/resources';
import { adminKubeConfig, useTestNamespace, waitFor } from './support';

const VALUE = 'cache-must-not-hold-9f3e1a';

describe('the metadata-only Secret cache', () => {
  const namespace = useTestNamespace('secret-cache');

  it('syncs a namespace without Secrets, whose metadata-only list has items: null', async () => {
    const cache = new KindCache(
      new KubeClient(adminKubeConfig()),
      SECRET_RESOURCE,
      { namespaces: [namespace.name], metadataOnly: true },
      pino({ level: 'silent' }),
    );
    cache.start();
    try {
      await waitFor('the cache to list the empty namespace', () => Promise.resolve(cache.synced));
      expect(cache.size).toBe(0);
    } finally {
      await cache.stop();
    }
  });

  it('follows Secrets, page by page and through the watch, holding neither data nor annotations', async () => {
    const client = new KubeClient(adminKubeConfig());
    const path = `/api/v1/namespaces/${namespace.name}/secrets`;
    const create = (name: string) =>
      client.request<{ metadata: { uid: string; resourceVersion: string } }>(
        'create',
        'POST',
        path,
        'secrets',
        {
          body: {
            metadata: {
              name,
              annotations: {
                'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
                  stringData: { v: VALUE },
                }),
              },
            },
            stringData: { v: VALUE },
          },
        },
      );
    for (const name of ['one', 'two', 'three']) await create(name);

    // Two per page: the list needs its continue token to see all three.
    const cache = new KindCache(
      client,
      SECRET_RESOURCE,
      { namespaces: [namespace.name], metadataOnly: true, pageSize: 2 },
      pino({ level: 'silent' }),
    );
    const events: string[] = [];
    cache.on((type, object) => events.push(`${type} ${object.metadata.name}`));
    cache.start();
    try {
      await cache.waitForSync();
      expect([...cache.list(namespace.name)].map((s) => s.metadata.name).sort()).toEqual([
        'one',
        'three',
        'two',
      ]);

      const four = await create('four');
      await waitFor('the watch to deliver the new Secret', () =>
        Promise.resolve(cache.get(namespace.name, 'four') !== undefined),
      );
      expect(cache.get(namespace.name, 'four')).toEqual({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'four',
          namespace: namespace.name,
          uid: four.metadata.uid,
          resourceVersion: four.metadata.resourceVersion,
        },
      });

      const changed = await client.request<{ metadata: { resourceVersion: string } }>(
        'patch',
        'PATCH',
        `${path}/one`,
        'secrets',
        { body: { stringData: { v: `${VALUE}-rotated` } }, contentType: 'application/merge-patch+json' },
      );
      await waitFor('the watch to deliver the change', () =>
        Promise.resolve(
          cache.get(namespace.name, 'one')?.metadata.resourceVersion === changed.metadata.resourceVersion,
        ),
      );
      await client.request('delete', 'DELETE', `${path}/two`, 'secrets');
      await waitFor('the watch to deliver the deletion', () =>
        Promise.resolve(cache.get(namespace.name, 'two') === undefined),
      );
      expect(events).toEqual(
        expect.arrayContaining(['ADDED one', 'ADDED four', 'MODIFIED one', 'DELETED two']),
      );

      const held = JSON.stringify([...cache.list(namespace.name)]);
      expect(held).not.toContain(VALUE);
      expect(held).not.toContain(Buffer.from(VALUE).toString('base64'));
      expect(held).not.toContain('last-applied-configuration');
      expect(held).not.toContain('managedFields');
    } finally {
      await cache.stop();
    }
  });
});
