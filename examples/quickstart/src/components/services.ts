/**
 * `services`: one JSON descriptor per service in `sources/services/`, checked and normalised into
 * one state with the dependency graph resolved (who depends on whom, and an order to start them
 * in). Local management: the state is small, derived from files in the repository, and only this
 * deployment needs it.
 */
import { writeFile } from 'node:fs/promises';
import { defineComponent } from '@defstate/core';
import {
  baseName,
  byName,
  isRecord,
  listSourceFiles,
  parseJsonSource,
  readSourceText,
  type SourceProblem,
  throwIfProblems,
  unknownFields,
} from '../source-files.js';

export const SERVICES_FOLDER = 'sources/services';

export interface Service {
  name: string;
  owner: string;
  port: number;
  /** The services this one calls, sorted. */
  dependsOn: string[];
  /** The services that call this one, sorted. */
  dependents: string[];
  /** The descriptor it came from. */
  source: string;
}

export interface ServicesState {
  schemaVersion: 1;
  /** Sorted by name. */
  services: Service[];
  /** Every service after the ones it depends on; ties broken by name, so the order is stable. */
  startOrder: string[];
}

const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;
const DESCRIPTOR_FIELDS = ['name', 'owner', 'port', 'dependencies'] as const;

export const services = defineComponent({
  key: 'services',
  management: 'local',
  description: 'Service descriptors from sources/services, with their dependency graph.',
  async refresh({ projectRoot, statePath, signal, log }) {
    const state = await readServices(projectRoot, signal);
    log(`${state.services.length} services; start order ${state.startOrder.join(' → ')}`);
    await writeFile(statePath, `${JSON.stringify(state, null, 2)}\n`, { signal });
  },
});

/** Reads and checks every descriptor; throws an `InvalidSourceError` listing all problems. */
export async function readServices(
  projectRoot: string,
  signal: AbortSignal,
): Promise<ServicesState> {
  const files = await listSourceFiles(projectRoot, SERVICES_FOLDER, '.json', signal);
  const problems: SourceProblem[] = [];
  const descriptors: Service[] = [];
  const texts = await Promise.all(files.map((file) => readSourceText(projectRoot, file, signal)));
  files.forEach((file, index) => {
    const parsed = parseJsonSource(texts[index] ?? '', file);
    if ('problem' in parsed) {
      problems.push(parsed.problem);
      return;
    }
    const found = checkDescriptor(parsed.value, file);
    if (Array.isArray(found)) problems.push(...found);
    else descriptors.push(found);
  });
  throwIfProblems(problems);
  throwIfProblems(checkGraph(descriptors));
  const dependents = new Map<string, string[]>();
  for (const service of descriptors) {
    for (const dependency of service.dependsOn) {
      dependents.set(dependency, [...(dependents.get(dependency) ?? []), service.name]);
    }
  }
  const sorted = descriptors
    .map((service) => ({ ...service, dependents: (dependents.get(service.name) ?? []).sort() }))
    .sort(byName);
  return { schemaVersion: 1, services: sorted, startOrder: startOrder(sorted) };
}

function checkDescriptor(value: unknown, file: string): Service | SourceProblem[] {
  if (!isRecord(value)) return [{ file, message: 'expected a JSON object describing one service' }];
  const problems = unknownFields(value, DESCRIPTOR_FIELDS, file);
  const problem = (message: string) => problems.push({ file, message });
  const { name, owner, port, dependencies = [] } = value;
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    problem('"name" must be lowercase letters, digits and dashes, starting with a letter');
  } else if (name !== baseName(file)) {
    problem(`"name" is "${name}" but the file is ${baseName(file)}.json; rename one to match`);
  }
  if (typeof owner !== 'string' || owner.trim() === '') {
    problem('"owner" must name the owning team');
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    problem('"port" must be a whole number from 1 to 65535');
  }
  if (!Array.isArray(dependencies) || !dependencies.every((item) => typeof item === 'string')) {
    problem('"dependencies" must be a list of service names');
  } else if (new Set(dependencies).size !== dependencies.length) {
    problem('"dependencies" lists a service twice');
  }
  if (problems.length > 0) return problems;
  return {
    name: name as string,
    owner: owner as string,
    port: port as number,
    dependsOn: [...(dependencies as string[])].sort(),
    dependents: [],
    source: file,
  };
}

/** Problems that span descriptors: shared ports, unknown dependencies and cycles. */
function checkGraph(descriptors: readonly Service[]): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const byName = new Map(descriptors.map((service) => [service.name, service]));
  const byPort = new Map<number, Service>();
  for (const service of descriptors) {
    const other = byPort.get(service.port);
    if (other) {
      problems.push({
        file: service.source,
        message: `port ${service.port} is already used by "${other.name}" (${other.source})`,
      });
    } else {
      byPort.set(service.port, service);
    }
    for (const dependency of service.dependsOn) {
      if (dependency === service.name) {
        problems.push({ file: service.source, message: 'a service cannot depend on itself' });
      } else if (!byName.has(dependency)) {
        problems.push({
          file: service.source,
          message: `depends on "${dependency}", which has no descriptor in ${SERVICES_FOLDER}`,
        });
      }
    }
  }
  if (problems.length > 0) return problems;
  const cycle = findCycle(descriptors, byName);
  if (cycle) {
    const first = byName.get(cycle[0] ?? '');
    problems.push({
      file: first?.source ?? SERVICES_FOLDER,
      message: `dependency cycle ${cycle.join(' → ')}; no service can start first`,
    });
  }
  return problems;
}

function findCycle(
  descriptors: readonly Service[],
  byName: ReadonlyMap<string, Service>,
): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    const seenAt = path.indexOf(name);
    if (seenAt >= 0) return [...path.slice(seenAt), name];
    if (done.has(name)) return undefined;
    for (const dependency of byName.get(name)?.dependsOn ?? []) {
      const cycle = visit(dependency, [...path, name]);
      if (cycle) return cycle;
    }
    done.add(name);
    return undefined;
  };
  for (const service of descriptors) {
    const cycle = visit(service.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Kahn's algorithm over an acyclic graph, always taking the first ready name. */
function startOrder(sorted: readonly Service[]): string[] {
  const waitingOn = new Map(sorted.map((service) => [service.name, new Set(service.dependsOn)]));
  const order: string[] = [];
  while (waitingOn.size > 0) {
    const ready = [...waitingOn].find(([, pending]) => pending.size === 0)?.[0];
    if (ready === undefined) break;
    order.push(ready);
    waitingOn.delete(ready);
    for (const pending of waitingOn.values()) pending.delete(ready);
  }
  return order;
}
