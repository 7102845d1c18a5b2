export * from './zookeeper';
export * from './znode';
