export * from './naming';
export * from './hash';
export * from './quantity';
export * from './merge';
export * from './jvm';
export * from './resources';
