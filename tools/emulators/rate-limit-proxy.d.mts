export interface RateLimitProxy {
  endpoint: string;
  /** Requests seen, mutations let through, and mutations refused with 429. */
  stats: { requests: number; mutations: number; refused: number };
  stop(): Promise<void>;
}

export function mutatedObject(method: string, url: string): string | undefined;

export function startRateLimitProxy(
  target: string,
  options?: { perObjectMs?: number; host?: string },
): Promise<RateLimitProxy>;
