export * from './class';
export * from './pod-listener';
