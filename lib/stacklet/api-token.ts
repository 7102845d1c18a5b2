/**
 * A Kubernetes API token for one container of a pod whose product reads the API
 * (ProductDefinition.readsConfigMaps). keelson's pods run with `automountServiceAccountToken: false`,
 * so no container holds a token it does not need; the one that reads mounts this volume where
 * Kubernetes' clients look for it: `token` (the stacklet ServiceAccount's, bound to the pod, renewed
 * by the kubelet before it expires), `ca.crt` (the cluster's CA, from the `kube-root-ca.crt`
 * ConfigMap every namespace has) and `namespace`.
 */
import type { Volume, VolumeMount } from '../../imports/k8s-wire';

/** Where a container finds the token, the CA and its namespace (Kubernetes' own location). */
export const API_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The token volume and its read-only mount. */
export function apiTokenVolume(name = 'api-token'): { volume: Volume; mount: VolumeMount } {
  return {
    volume: {
      name,
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    mount: { name, mountPath: API_TOKEN_DIR, readOnly: true },
  };
}
