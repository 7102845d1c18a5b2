import * as fs from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { OperatorDeployment } from '../lib/operator/deployment';
import { OPERATOR_IMAGES, operatorImageRecipe, operatorImageReference } from '../lib/operator/image';
import { PRODUCTS } from '../apps/keelson';

const version = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

describe("the operator's image", () => {
  test('is named by the package version, not latest', () => {
    expect(operatorImageReference()).toBe(`ghcr.io/keelson/keelson:${version}`);
    expect(OPERATOR_IMAGES.versions).toEqual([version]);
  });

  test('runs keelson operator with the image Node, as uid 10001', () => {
    const { config, reference } = operatorImageRecipe();
    expect(reference).toBe(`ghcr.io/keelson/keelson:${version}`);
    expect(config.user).toBe('10001:10001');
    expect(config.entrypoint).toEqual(['/usr/local/bin/node', '/opt/keelson/build/apps/keelson.js']);
    expect(config.cmd).toEqual(['operator']);
  });

  test("the operator's Deployment references it unless told otherwise, and passes keelson's arguments", () => {
    const chart = new Chart(Testing.app(), 'op');
    new OperatorDeployment(chart, 'operator', { products: PRODUCTS, namespace: 'keelson-system' });
    const deployment = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.image).toBe(`ghcr.io/keelson/keelson:${version}`);
    // The Deployment's args replace the image's cmd: the entrypoint then runs `keelson operator …`.
    expect(container.args[0]).toBe('operator');
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(10001);
  });

  test('rejects a version other than the package version', () => {
    expect(() => OPERATOR_IMAGES.recipe('9.9.9')).toThrow(
      `image: this keelson builds the operator image of version ${version} only, not 9.9.9`,
    );
  });
});
