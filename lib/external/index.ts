export * from './database';
export * from './s3';
