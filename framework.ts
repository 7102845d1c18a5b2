/**
 * `keelson/framework`: for writing a product of your own and running it like keelson's — spec
 * schemas and rules, the build pipeline (resolve, validate, build), labels, security contexts,
 * config file writers, merging, CRD generation, the operator's command line and its deployment —
 * and every product's internals (schemas, definitions, file renderers). Platform programs need
 * only `keelson`. Less stable than `keelson` while keelson is 0.x: see the CHANGELOG.
 */
export * from './lib';
export * from './constructs';
export { keelsonCli } from './lib/cli';
export {
  OperatorDeployment,
  operatorRules,
  operatorNodeOptions,
  DEFAULT_OPERATOR_MEMORY_MIB,
  type OperatorDeploymentProps,
} from './lib/operator/deployment';
