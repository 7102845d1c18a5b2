export * from './lib';
export * from './constructs';
