export * from './zookeeper';
export * from './kafka';
export * from './hive';
export * from './trino';
export * from './hdfs';
export * from './hbase';
export * from './opa';
