export * from './hdfs';
export * from './distribution';
export * from './monitoring';
