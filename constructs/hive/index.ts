export * from './hive';
export * from './spec.generated';
export * from './monitoring';
