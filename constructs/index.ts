export * from './zookeeper';
export * from './kafka';
