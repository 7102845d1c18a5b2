export * from './model';
export * from './renderers';
export * from './agent';
