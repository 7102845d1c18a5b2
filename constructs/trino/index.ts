export * from './catalog';
export * from './trino';
