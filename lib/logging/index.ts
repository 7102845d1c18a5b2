export * from './model';
export * from './renderers';
