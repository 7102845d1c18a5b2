export * from './hive';
export * from './spec.generated';
