/**
 * Every road by which a pod spec reads a Secret, one pod spec per road, each naming the Secret
 * `SECRET_ON_ROAD`. Two pieces of keelson must know the same roads and cannot share code: the
 * operator's `podSecretReferences` (TypeScript, rolls pods when a Secret changes) and the admission
 * policy's Secret guard (CEL, refuses a Secret in a restricted user's podOverrides). The unit test
 * of the one and the real-API-server test of the other both walk this table, so a road added to
 * one and not the other fails a test. Add a road here when Kubernetes grows one.
 */

/** The Secret every road names. */
export const SECRET_ON_ROAD = 'someone-elses';

/** A pod spec fragment per road, keyed by a name for the road. */
export const POD_SECRET_ROADS: Readonly<Record<string, Record<string, unknown>>> = {
  'a secret volume': { volumes: [{ name: 'road', secret: { secretName: SECRET_ON_ROAD } }] },
  'a projected secret source': {
    volumes: [{ name: 'road', projected: { sources: [{ secret: { name: SECRET_ON_ROAD } }] } }],
  },
  "a container's env secretKeyRef": {
    containers: [
      { name: 'main', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: SECRET_ON_ROAD, key: 'p' } } }] },
    ],
  },
  "a container's envFrom secretRef": {
    containers: [{ name: 'main', envFrom: [{ secretRef: { name: SECRET_ON_ROAD } }] }],
  },
  "an init container's env secretKeyRef": {
    initContainers: [
      { name: 'init', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: SECRET_ON_ROAD, key: 'p' } } }] },
    ],
  },
  "an init container's envFrom secretRef": {
    initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: SECRET_ON_ROAD } }] }],
  },
};
