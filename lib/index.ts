export * from './naming';
export * from './hash';
export * from './quantity';
