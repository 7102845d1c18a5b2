export * from './hbase';
export * from './distribution';
export * from './monitoring';
