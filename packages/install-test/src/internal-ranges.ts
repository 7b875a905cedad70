import semver from 'semver';
import type { PackageManifest } from './package-manifest.js';

/** The dependency fields a consumer's install resolves (devDependencies are not installed with a package). */
const INSTALLED_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * What keeps the packed packages from installing together as they are: a
 * dependency on another workspace whose range the packed version does not
 * satisfy (npm would fetch a published one instead, or fail), or on a
 * private workspace (never published). One line per problem.
 *
 * @param packed - the manifests as packed (name, version, dependencies).
 * @param privateNames - the names of the private workspaces.
 */
export function internalRangeProblems(packed: readonly PackageManifest[], privateNames: readonly string[] = []): string[] {
  const versions = new Map(packed.map((m) => [m.name, m.version]));
  const problems: string[] = [];
  for (const m of packed) {
    for (const field of INSTALLED_FIELDS) {
      for (const [dep, range] of Object.entries(m[field] ?? {})) {
        if (privateNames.includes(dep)) {
          problems.push(`${m.name} ${m.version} lists the private workspace ${dep} in ${field}; it is never published`);
          continue;
        }
        const version = versions.get(dep);
        if (version === undefined) continue;
        if (!semver.validRange(range)) problems.push(`${m.name} ${m.version} asks for ${dep} '${range}' in ${field}, which is not a semver range`);
        else if (!semver.satisfies(version, range)) problems.push(`${m.name} ${m.version} asks for ${dep} ${range} in ${field}, but the packed ${dep} is ${version}`);
      }
    }
  }
  return problems;
}
