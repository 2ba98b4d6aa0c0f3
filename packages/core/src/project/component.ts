import type { ManagementType } from '../model/state-info.js';

/** What a component's `refresh` is given. */
export interface RefreshContext {
  /** The component's state key. */
  key: string;
  /** Write the whole state to this file. It is moved into place only if `refresh` succeeds. */
  statePath: string;
  /** Aborted on timeout or when the run is cancelled; pass it to fetch and friends. */
  signal: AbortSignal;
  /** A progress message, shown beside the key. */
  log: (message: string) => void;
  /** The project's root folder. */
  projectRoot: string;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
}

/** A state-backed component: a stable key, how its state is managed, and how to fetch it. */
export interface Component {
  key: string;
  management: ManagementType;
  refresh: (context: RefreshContext) => void | Promise<void>;
  /** One line for people: what this state is. */
  description?: string;
  /**
   * Development mode (`defstate dev`, `DEFSTATE_DEV=1`) refreshes this component's state when it
   * is missing or too old as the app loads it. `false` opts out: its state must come from an
   * explicit `defstate refresh`. On by default.
   */
  refreshIfDev?: boolean;
}

export interface ProjectConfig {
  components: Component[];
}

export type ProjectConfigInput = ProjectConfig | (() => ProjectConfig | Promise<ProjectConfig>);

/** Declares a component; typed identity, validated when the project loads. */
export function defineComponent(component: Component): Component {
  return component;
}

/** Declares a project's configuration in `defstate.config.ts`. */
export function defineConfig(config: ProjectConfigInput): ProjectConfigInput {
  return config;
}
