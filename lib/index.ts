export * from './naming';
export * from './hash';
