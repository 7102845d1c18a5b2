export * from './opa';
export * from './spec.generated';
