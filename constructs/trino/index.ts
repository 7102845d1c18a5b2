export * from './catalog';
export * from './trino';
export * from './spec.generated';
export * from './monitoring';
export * from './authentication';
