export interface StripConditionsProxy {
  endpoint: string;
  /** Requests forwarded, and conditional headers removed from them. */
  stats: { requests: number; stripped: number };
  stop(): Promise<void>;
}

export function startStripConditionsProxy(
  target: string,
  options?: { host?: string },
): Promise<StripConditionsProxy>;
