export * from './kafka';
export * from './spec.generated';
