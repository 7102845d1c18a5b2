/**
 * The OPA image keelson references (`ghcr.io/keelson/opa:<version>`): OPA's server compiled from
 * the Go module proxy (`github.com/open-policy-agent/opa`, static, without its WebAssembly engine,
 * which needs cgo) at `/usr/local/bin/opa`, on Debian 12 with bash, curl and jq for the policy step
 * (`POLICY_SYNC_SCRIPT`) and dash as `/bin/sh`, running as uid 10001.
 */
import {
  debianLayer,
  goProgramLayer,
  recipeForVersion,
  type ImageRecipe,
  type ProductImages,
} from '../../lib/image';
import { OPA } from './opa';

/** The Go module release of each OPA version keelson builds an image for. */
export const OPA_IMAGE_VERSIONS: Readonly<Record<string, { readonly module: string }>> = {
  '1.22.3': { module: 'v1.22.3' },
};

const OPA_UID = 10001;

/** The recipe of OPA `version`'s image, named as keelson's versions table names it. */
export function opaImageRecipe(version: string, repository = OPA.images!.repository): ImageRecipe {
  const { module } = recipeForVersion('OPA', OPA_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${OPA.images!.versions[version] ?? version}`,
    layers: [
      debianLayer({
        description: 'Debian 12 with bash, sh, curl and jq',
        packages: [
          'base-files',
          'bash',
          'ca-certificates',
          'coreutils',
          'curl',
          'dash',
          'diffutils',
          'jq',
          'netbase',
        ],
      }),
      goProgramLayer(
        {
          name: 'opa',
          module: 'github.com/open-policy-agent/opa',
          version: module,
          ldflags: `-X github.com/open-policy-agent/opa/v1/version.Version=${version}`,
        },
        '/usr/local/bin/opa',
      ),
    ],
    config: {
      user: `${OPA_UID}:${OPA_UID}`,
      entrypoint: ['/usr/local/bin/opa'],
      cmd: ['run', '--server', '--addr=0.0.0.0:8181'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      exposedPorts: [8181],
    },
  };
}

/** OPA's images, for `keelson image build opa`. */
export const OPA_IMAGES: ProductImages = {
  product: 'opa',
  versions: Object.keys(OPA_IMAGE_VERSIONS),
  recipe: (version) => opaImageRecipe(version),
};
