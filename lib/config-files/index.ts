export * from './env-file';
export * from './hadoop-xml';
export * from './logback-xml';
export * from './overrides';
export * from './properties';
export * from './yaml-json';
