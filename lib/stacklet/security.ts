/**
 * keelson's pods pass the Pod Security Standard `restricted` profile by construction: a non-root
 * user above 10000, the runtime's default seccomp profile, no privilege escalation, no
 * capabilities and a read-only root filesystem (products get emptyDirs where they write).
 */
import type { PodSecurityContext, SecurityContext } from '../../imports/k8s-wire';

/** The default pod user and group. */
export const DEFAULT_RUN_AS_USER = 10001;
/** The lowest user id keelson accepts; low ids collide with host users. */
export const MIN_RUN_AS_USER = 10000;

/** The pod-level security context. */
export function podSecurityContext(runAsUser = DEFAULT_RUN_AS_USER): PodSecurityContext {
  if (!Number.isInteger(runAsUser) || runAsUser <= MIN_RUN_AS_USER) {
    throw new Error(`runAsUser must be an integer above ${MIN_RUN_AS_USER}; got ${runAsUser}`);
  }
  return {
    runAsNonRoot: true,
    runAsUser,
    runAsGroup: runAsUser,
    fsGroup: runAsUser,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The container-level security context, for every container keelson writes. */
export function containerSecurityContext(): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
