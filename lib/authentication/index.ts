export * from './class';
export * from './stacklet-authentication';
