export * from './opa';
export * from './spec.generated';
export * from './monitoring';
