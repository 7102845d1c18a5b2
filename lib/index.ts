export * from './naming';
export * from './hash';
export * from './quantity';
export * from './duration';
export * from './merge';
export * from './jvm';
export * from './config-files';
export {
  resourceRequirements,
  jvmHeapFromMemory,
  jvmHeapMiB,
  jvmHeapProblems,
  volumeClaimTemplates,
  type JvmHeapOptions,
} from './resources';
export * from './spec/rules';
export * from './spec/common';
export * from './spec/spec.generated';
export {
  kubernetesFieldProblems,
  type Affinity,
  type Patch,
  type PodTemplatePatch,
  type PodTemplateSpec,
} from './spec/kubernetes';
export * from './spec/stacklet-spec';
export * from './spec/validate';
export * from './spec/crd';
export * from './stacklet/product';
export * from './stacklet/references';
export * from './stacklet/labels';
export * from './stacklet/security';
export * from './stacklet/resolve';
export * from './stacklet/pod';
export * from './stacklet/manifests';
export * from './stacklet/metrics';
export * from './stacklet/monitoring';
export * from './stacklet/stacklet';
export * from './stacklet/crd';
export * from './stacklet/ordinal-ids';
export * from './stacklet/api-token';
export * from './tls/pod-tls';
export * from './synth';
export * from './synth-report';
export * from './external';
export * from './tls';
export * from './listener';
export * from './topology';
export * from './authentication';
export * from './authorization';
export * from './logging';
