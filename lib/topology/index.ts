export * from './node-topology';
