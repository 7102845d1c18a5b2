export * from './hdfs';
export * from './distribution';
export * from './monitoring';
export * from './decommission';
