export * from './kafka';
export * from './spec.generated';
export * from './monitoring';
