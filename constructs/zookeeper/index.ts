export * from './zookeeper';
export * from './znode';
export * from './spec.generated';
export * from './monitoring';
