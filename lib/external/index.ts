export * from './database';
export * from './s3';
export * from './spec.generated';
